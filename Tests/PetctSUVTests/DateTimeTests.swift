import Testing

@testable import PetctSUV

/// Seconds since midnight of h:m:s.
func hms(_ h: Double, _ m: Double = 0, _ s: Double = 0) -> Double { h * 3600 + m * 60 + s }

@Suite struct DateTimeTests {
    @Test func datesCountDaysFrom1970() {
        #expect(DicomDateTime.parseDate("19700101") == 0)
        #expect(DicomDateTime.parseDate("19700102") == 1)
        // 55 years of 365 days plus the 14 leap days 1972...2024.
        #expect(DicomDateTime.parseDate("20250101") == 55 * 365 + 14)
        #expect(DicomDateTime.parseDate("20240301")! - DicomDateTime.parseDate("20240228")! == 2)  // leap year
        #expect(DicomDateTime.parseDate("20250301")! - DicomDateTime.parseDate("20250228")! == 1)
        #expect(DicomDateTime.parseDate("19691231") == -1)
        #expect(DicomDateTime.parseDate("2025.01.01") == DicomDateTime.parseDate("20250101"))  // ACR-NEMA
        #expect(DicomDateTime.parseDate("20250101 ") == 55 * 365 + 14)  // padding
    }

    @Test func invalidDatesAreRejected() {
        for s in ["", "2025011", "20251301", "20250230", "20230229", "2025-01-01", "abcdefgh", "202501011"] {
            #expect(DicomDateTime.parseDate(s) == nil, "\(s)")
        }
    }

    @Test func civilRoundTrip() {
        for d in [-800_000, -1, 0, 59, 11_016, 20_089, 2_932_896] {
            let c = DicomDateTime.civil(days: d)
            #expect(DicomDateTime.days(year: c.year, month: c.month, day: c.day) == d)
        }
        #expect(DicomDateTime.civil(days: 20_089) == (2025, 1, 1))
    }

    @Test func timesInAllForms() {
        #expect(DicomDateTime.parseTime("110000") == hms(11))
        #expect(DicomDateTime.parseTime("110000.000000") == hms(11))
        #expect(DicomDateTime.parseTime("235959.5") == hms(23, 59, 59.5))
        #expect(close(DicomDateTime.parseTime("101530.123456")!, hms(10, 15, 30.123456)))
        #expect(DicomDateTime.parseTime("1015") == hms(10, 15))  // no seconds
        #expect(DicomDateTime.parseTime("10") == hms(10))  // no minutes
        #expect(DicomDateTime.parseTime("10:15:30") == hms(10, 15, 30))  // old style
        #expect(DicomDateTime.parseTime("10:15:30.25") == hms(10, 15, 30.25))
        #expect(DicomDateTime.parseTime("10:15") == hms(10, 15))
        #expect(DicomDateTime.parseTime(" 093000 ") == hms(9, 30))
        #expect(DicomDateTime.parseTime("093000.") == hms(9, 30))
    }

    @Test func invalidTimesAreRejected() {
        for s in ["", "1", "250000", "106000", "101061", "10:5", "1015.5", "ab0000", "10:15:30:00", "101530.1x"] {
            #expect(DicomDateTime.parseTime(s) == nil, "\(s)")
        }
    }

    @Test func dateTimes() {
        let v = DicomDateTime.parseDateTime("20250101100000.000000")
        #expect(v?.days == 20_089)
        #expect(v?.secondsOfDay == hms(10))
        #expect(v?.utcOffsetSeconds == nil)
        let z = DicomDateTime.parseDateTime("20250101103015.5+0130")
        #expect(z?.secondsOfDay == hms(10, 30, 15.5))
        #expect(z?.utcOffsetSeconds == Int(hms(1, 30)))
        #expect(DicomDateTime.parseDateTime("202501011030-0500")?.utcOffsetSeconds == -Int(hms(5)))
        #expect(DicomDateTime.parseDateTime("202501011030")?.secondsOfDay == hms(10, 30))
        // Date only: no time of day.
        #expect(DicomDateTime.parseDateTime("20250101")?.secondsOfDay == nil)
        #expect(DicomDateTime.parseDateTime("2025")?.days == 20_089)
        for s in ["", "20250101T1000", "2025010110+01", "20251301", "20250101250000", "20250101.5"] {
            #expect(DicomDateTime.parseDateTime(s) == nil, "\(s)")
        }
        #expect(DicomDateTime.parseUTCOffset("-0330") == -Int(hms(3, 30)))
        #expect(DicomDateTime.parseUTCOffset("0100") == nil)
    }

    @Test func formatting() {
        #expect(DicomDateTime.format(at(11)) == "2025-01-01T11:00:00")
        #expect(DicomDateTime.format(at(23, 59, 59.25)) == "2025-01-01T23:59:59.250000")
        #expect(DicomDateTime.format(at(0, day: -1)) == "2024-12-31T00:00:00")
        #expect(DicomDateTime.format(-1) == "1969-12-31T23:59:59")
        #expect(DicomDateTime.format(.nan) == "")
    }
}

/// Arbitrary input never traps and parsed values stay in range.
@Suite struct DateTimeRobustnessTests {
    @Test func randomStrings() {
        let alphabet = Array("0123456789.:+- \0Zx".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var parsed = 0
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 59)  // 0...31
            var bytes: [UInt8] = []
            for i in 0..<length {
                let r = (state >> UInt64(i % 50)) ^ UInt64(i &* 2_654_435_761)
                bytes.append(alphabet[Int(r % UInt64(alphabet.count))])
            }
            let s = String(decoding: bytes, as: UTF8.self)
            if let t = DicomDateTime.parseTime(s) { parsed += 1; #expect(t >= 0 && t < 86_401) }
            if let d = DicomDateTime.parseDate(s) { #expect(d > -800_000 && d < 3_000_000) }
            if let v = DicomDateTime.parseDateTime(s) {
                #expect((v.secondsOfDay ?? 0) >= 0 && (v.secondsOfDay ?? 0) < 86_401)
                #expect(abs(v.utcOffsetSeconds ?? 0) <= 14 * 3600 + 59 * 60)
            }
            _ = DicomDateTime.parseUTCOffset(s)
        }
        // Every digit string of even length 2-6 parses: the generator must have produced some.
        #expect(parsed > 0)
    }
}
