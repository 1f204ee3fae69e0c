import AlveoCore

/// What a simulated serial device says, built from the values it currently "measures" (in Alveo's
/// units): the inverse of the decoders, for `alveo simulate` and tests.
package enum SerialDeviceEncoders {
    package typealias Values = [Parameter: Double]
    // Each device's encoder is in its driver's folder (Drivers/<device>/).
}
