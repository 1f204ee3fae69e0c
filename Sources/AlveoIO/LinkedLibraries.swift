import CModbus
import CSerialPort

/// Versions of the C libraries this binary linked, read from the libraries at run time.
public enum LinkedLibraries {
    /// libmodbus version, from its exported `libmodbus_version_*` globals.
    public static var modbusVersion: String {
        "\(alveo_modbus_version_major()).\(alveo_modbus_version_minor()).\(alveo_modbus_version_micro())"
    }

    /// libserialport package version, from `sp_get_package_version_string()`.
    public static var serialPortVersion: String {
        guard let cString = sp_get_package_version_string() else { return "unknown" }
        return String(cString: cString)
    }
}
