/// Parsing of the DICOM temporal VRs DA, TM and DT into plain numbers, and formatting for reports.
///
/// Absolute instants are represented as `Double` seconds since 1970-01-01 00:00 on the clock the
/// value was written in (normally the local time of the scanner); only differences matter for SUV.
public enum DicomDateTime {
    public static let secondsPerDay = 86_400.0

    // MARK: calendar arithmetic

    /// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        // Shift the year so that it starts in March: the leap day is then the last day of the year.
        let y = month <= 2 ? year - 1 : year
        let cycle = (y >= 0 ? y : y - 399) / 400  // 400-year cycles of 146097 days
        let yearInCycle = y - cycle * 400  // 0...399
        let monthFromMarch = (month + 9) % 12  // March = 0 ... February = 11
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1  // 0...365
        let dayInCycle = yearInCycle * 365 + yearInCycle / 4 - yearInCycle / 100 + dayOfYear
        return cycle * 146_097 + dayInCycle - 719_468  // 719468 = days from 0000-03-01 to 1970-01-01
    }

    /// Inverse of `days(year:month:day:)`.
    public static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let cycle = (z >= 0 ? z : z - 146_096) / 146_097
        let dayInCycle = z - cycle * 146_097
        let yearInCycle = (dayInCycle - dayInCycle / 1460 + dayInCycle / 36_524 - dayInCycle / 146_096) / 365
        let dayOfYear = dayInCycle - (365 * yearInCycle + yearInCycle / 4 - yearInCycle / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearInCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: parsing

    /// DA "YYYYMMDD" (also the ACR-NEMA form "YYYY.MM.DD") -> days since 1970-01-01.
    public static func parseDate(_ text: String) -> Int? {
        let b = trimmedBytes(text)
        var digits: [UInt8] = []
        if b.count == 10, b[4] == UInt8(ascii: "."), b[7] == UInt8(ascii: ".") {
            digits = Array(b[0..<4]) + Array(b[5..<7]) + Array(b[8..<10])
        } else if b.count == 8 {
            digits = b
        } else {
            return nil
        }
        guard let y = number(digits, 0, 4), let m = number(digits, 4, 2), let d = number(digits, 6, 2) else {
            return nil
        }
        guard validDate(y, m, d) else { return nil }
        return days(year: y, month: m, day: d)
    }

    /// TM -> seconds since midnight. Accepts "HH", "HHMM", "HHMMSS", "HHMMSS.F..." (1-6 fraction
    /// digits, more are tolerated) and the old style "HH:MM", "HH:MM:SS(.F...)".
    public static func parseTime(_ text: String) -> Double? {
        let b = trimmedBytes(text)
        guard !b.isEmpty else { return nil }
        var main = b[...]
        var fraction: ArraySlice<UInt8> = []
        if let dot = b.firstIndex(of: UInt8(ascii: ".")) {
            main = b[..<dot]
            fraction = b[(dot + 1)...]
        }
        var parts: [Int] = []
        if main.contains(UInt8(ascii: ":")) {
            for piece in main.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
                guard piece.count == 2, let v = number(Array(piece), 0, 2) else { return nil }
                parts.append(v)
            }
        } else {
            guard main.count % 2 == 0 else { return nil }
            let m = Array(main)
            var i = 0
            while i < m.count {
                guard let v = number(m, i, 2) else { return nil }
                parts.append(v)
                i += 2
            }
        }
        guard (1...3).contains(parts.count) else { return nil }
        // A fraction only makes sense after the seconds.
        if !fraction.isEmpty && parts.count != 3 { return nil }
        let hh = parts[0], mm = parts.count > 1 ? parts[1] : 0, ss = parts.count > 2 ? parts[2] : 0
        guard hh < 24, mm < 60, ss <= 60 else { return nil }
        guard let frac = parseFraction(fraction) else { return nil }
        return Double(hh * 3600 + mm * 60 + ss) + frac
    }

    /// A parsed DT value.
    public struct DateTimeValue: Sendable, Equatable {
        /// Days since 1970-01-01.
        public var days: Int
        /// Seconds since midnight; nil when the value stops at the date (no hour component).
        public var secondsOfDay: Double?
        /// The "&ZZXX" suffix in seconds east of UTC, nil when absent.
        public var utcOffsetSeconds: Int?

        /// Seconds since 1970-01-01 on the value's own clock (midnight when there is no time).
        public var clockSeconds: Double { Double(days) * DicomDateTime.secondsPerDay + (secondsOfDay ?? 0) }
    }

    /// DT "YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX]" where & is + or -.
    public static func parseDateTime(_ text: String) -> DateTimeValue? {
        var b = trimmedBytes(text)
        var offset: Int? = nil
        // A sign can only appear in the offset suffix (the year has no sign in DT).
        if let signIndex = b.lastIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) {
            let suffix = Array(b[(signIndex + 1)...])
            guard suffix.count == 4, let hh = number(suffix, 0, 2), let mm = number(suffix, 2, 2),
                hh <= 14, mm < 60
            else { return nil }
            let magnitude = hh * 3600 + mm * 60
            offset = b[signIndex] == UInt8(ascii: "-") ? -magnitude : magnitude
            b = Array(b[..<signIndex])
        }
        var main = b[...]
        var fraction: ArraySlice<UInt8> = []
        if let dot = b.firstIndex(of: UInt8(ascii: ".")) {
            main = b[..<dot]
            fraction = b[(dot + 1)...]
        }
        let m = Array(main)
        guard m.count >= 4, m.count <= 14, m.count % 2 == 0 else { return nil }
        guard let year = number(m, 0, 4) else { return nil }
        let month = m.count >= 6 ? number(m, 4, 2) : 1
        let day = m.count >= 8 ? number(m, 6, 2) : 1
        guard let month, let day, validDate(year, month, day) else { return nil }
        var seconds: Double? = nil
        if m.count >= 10 {
            guard let hh = number(m, 8, 2) else { return nil }
            let mm = m.count >= 12 ? number(m, 10, 2) : 0
            let ss = m.count >= 14 ? number(m, 12, 2) : 0
            guard let mm, let ss, hh < 24, mm < 60, ss <= 60 else { return nil }
            if !fraction.isEmpty && m.count != 14 { return nil }
            guard let frac = parseFraction(fraction) else { return nil }
            seconds = Double(hh * 3600 + mm * 60 + ss) + frac
        } else if !fraction.isEmpty {
            return nil
        }
        return DateTimeValue(
            days: days(year: year, month: month, day: day), secondsOfDay: seconds, utcOffsetSeconds: offset)
    }

    /// "+HHMM"/"-HHMM" (Timezone Offset From UTC, 0008,0201) -> seconds east of UTC.
    public static func parseUTCOffset(_ text: String) -> Int? {
        let b = trimmedBytes(text)
        guard b.count == 5, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"),
            let hh = number(b, 1, 2), let mm = number(b, 3, 2), hh <= 14, mm < 60
        else { return nil }
        let magnitude = hh * 3600 + mm * 60
        return b[0] == UInt8(ascii: "-") ? -magnitude : magnitude
    }

    // MARK: formatting

    /// "YYYY-MM-DDTHH:MM:SS[.ffffff]" for seconds since 1970-01-01; "" when not finite or out of range.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e13 else { return "" }
        // Round to microseconds first so that 59.9999999 does not print as 60.
        let micros = (seconds * 1_000_000).rounded()
        var dayCount = Int((micros / 86_400_000_000).rounded(.down))
        var rest = Int(micros - Double(dayCount) * 86_400_000_000)
        if rest >= 86_400_000_000 { dayCount += 1; rest -= 86_400_000_000 }
        if rest < 0 { dayCount -= 1; rest += 86_400_000_000 }
        let (y, mo, d) = civil(days: dayCount)
        let whole = rest / 1_000_000, frac = rest % 1_000_000
        var s = pad(y, 4) + "-" + pad(mo, 2) + "-" + pad(d, 2) + "T"
        s += pad(whole / 3600, 2) + ":" + pad((whole / 60) % 60, 2) + ":" + pad(whole % 60, 2)
        if frac != 0 { s += "." + pad(frac, 6) }
        return s
    }

    // MARK: helpers

    static func pad(_ v: Int, _ width: Int) -> String {
        var s = String(abs(v))
        while s.count < width { s = "0" + s }
        return v < 0 ? "-" + s : s
    }

    static func validDate(_ y: Int, _ m: Int, _ d: Int) -> Bool {
        (1...12).contains(m) && d >= 1 && d <= daysInMonth(year: y, month: m)
    }

    /// The value's bytes without leading/trailing spaces and NULs.
    static func trimmedBytes(_ text: String) -> [UInt8] { Array(text.trimmingPadding().utf8) }

    /// Decimal value of `count` ASCII digits at `start`; nil if any is not a digit or out of range.
    static func number(_ b: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start >= 0, count > 0, count <= 9, start + count <= b.count else { return nil }
        var v = 0
        for i in start..<(start + count) {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Digits after the decimal point -> fraction of a second (0 when empty).
    static func parseFraction(_ digits: ArraySlice<UInt8>) -> Double? {
        var v = 0.0, scale = 1.0
        for c in digits {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            if scale > 1e-12 {  // more than 12 digits add nothing
                scale /= 10
                v += Double(c - 0x30) * scale
            }
        }
        return v
    }
}
