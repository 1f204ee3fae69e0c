import CModbus
import COpenSSL
import CSerialPort

/// Versions of the C libraries this binary linked, read from the libraries at run time.
package enum LinkedLibraries {
    /// libmodbus version, from its exported `libmodbus_version_*` globals.
    package static var modbusVersion: String {
        "\(alveo_modbus_version_major()).\(alveo_modbus_version_minor()).\(alveo_modbus_version_micro())"
    }

    /// OpenSSL version, from `OpenSSL_version(OPENSSL_VERSION)`.
    package static var openSSLVersion: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "unknown" }
        return String(cString: text)
    }

    /// libserialport package version, from `sp_get_package_version_string()`.
    package static var serialPortVersion: String {
        guard let cString = sp_get_package_version_string() else { return "unknown" }
        return String(cString: cString)
    }
}
