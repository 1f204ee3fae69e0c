import AlveoOutput
import Testing

/// The RELP server frames the syslog forwarder reads (`outputs.syslog.protocol: relp`): what rsyslog's
/// imrelp really sends, cut anywhere, and what it must refuse without trapping or holding much.
@Suite struct RELPFrameReaderTests {
    /// Bytes captured from rsyslog 8.2302 / librelp 1.11 (imrelp): the answer to open, to a message,
    /// to close, and the serverclose hint.
    static let imrelp = Array(("1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n"
        + "2 rsp 6 200 OK\n3 rsp 0\n0 serverclose 0\n").utf8)

    @Test func readsImrelpsFramesWhereverTheStreamIsCut() throws {
        for cut in 0...Self.imrelp.count {
            var reader = RELPFrameReader()
            let first = try reader.feed(Self.imrelp[..<cut]).get()
            let second = try reader.feed(Self.imrelp[cut...]).get()
            let frames = first + second
            #expect(frames.map(\.txnr) == [1, 2, 3, 0], "cut at \(cut)")
            #expect(frames.map(\.command) == ["rsp", "rsp", "rsp", "serverclose"])
            #expect(!reader.isInsideFrame)
        }
        var reader = RELPFrameReader()
        let frames = try reader.feed(Self.imrelp).get()
        let open = try #require(RELPResponse.parse(frames[0].data))
        #expect(open.status == 200)
        #expect(open.text == Array("OK".utf8))
        #expect(open.offers["commands"] == ["syslog"])
        #expect(open.offers["relp_version"] == ["0"])
        #expect(open.offers["relp_software"] == ["librelp", "1.11.0", "http://librelp.adiscon.com"])
        #expect(RELPResponse.parse(frames[1].data)?.status == 200)
        #expect(frames[2].data.isEmpty)
        #expect(RELPResponse.parse(frames[2].data) == nil, "close's empty rsp is no status")
    }

    @Test func aFrameIsWrittenAsTheSpecificationSays() {
        #expect(RELPFrame(txnr: 7, command: "syslog", data: Array("<13>1 - - - - - - x".utf8)).bytes == Array("7 syslog 19 <13>1 - - - - - - x\n".utf8))
        #expect(RELPFrame(txnr: 8, command: "close").bytes == Array("8 close 0\n".utf8))
    }

    @Test func statusLines() {
        #expect(RELPResponse.parse(Array("500 error (test peer)".utf8)) == RELPResponse(status: 500, text: Array("error (test peer)".utf8), body: []))
        #expect(RELPResponse.parse(Array("200".utf8))?.status == 200)
        #expect(RELPResponse.parse(Array("200\ncommands=syslog".utf8))?.offers == ["commands": ["syslog"]])
        for bad in ["OK", "20", "2000 OK", "20a OK", "", "-200 OK", "２００ OK"] {
            #expect(RELPResponse.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(RELPResponse.parse(Array("200 OK\ncommands=".utf8))?.offers["commands"] == [""], "no syslog offered")
    }

    @Test func refusesWhatIsNotRELPAndStaysRefused() {
        let cases: [(String, String)] = [
            ("HTTP/1.1 400 Bad Request\r\n", "where a transaction number"),
            ("1234567890 rsp 0\n", "longer than 9 digits"),
            (" rsp 0\n", "where a transaction number"),
            ("1  rsp 0\n", "where a command"),
            ("1 rsp1 0\n", "where a command"),
            ("1 \(String(repeating: "a", count: 33)) 0\n", "longer than 32 letters"),
            ("1 rsp x\n", "where a DATALEN"),
            ("1 rsp 0 \n", "where the frame's LF"),
            ("1 rsp 2 OKX", "where the frame's LF"),
            ("1 rsp 3\nOK\n", "after the DATALEN"),
            ("1 rsp 0000000000\n", "longer than 9 digits"),
            ("1 rsp 9999999999 ", "more than 16384 bytes"),
            ("1 rsp 16385 ", "more than 16384 bytes"),
        ]
        for (input, reason) in cases {
            var reader = RELPFrameReader()
            guard case .failure(let error) = reader.feed(Array(input.utf8)) else {
                Issue.record("accepted \(input.debugDescription)")
                continue
            }
            #expect(error.reason.contains(reason), "\(input.debugDescription): \(error.reason)")
            // The stream cannot be framed again: everything after is refused.
            guard case .failure = reader.feed(Array("2 rsp 6 200 OK\n".utf8)) else {
                Issue.record("recovered after \(input.debugDescription)")
                continue
            }
        }
    }

    @Test func aDeclaredLengthBeyondTheBoundIsRefusedBeforeItsDataArrives() {
        var reader = RELPFrameReader(maxData: 100)
        guard case .failure(let error) = reader.feed(Array("1 rsp 101".utf8)) else {
            Issue.record("a 101-byte frame accepted with a bound of 100")
            return
        }
        #expect(error.reason.contains("more than 100 bytes"))
        var exact = RELPFrameReader(maxData: 100)
        let frame = RELPFrame(txnr: 1, command: "rsp", data: [UInt8](repeating: UInt8(ascii: "x"), count: 100))
        #expect((try? exact.feed(frame.bytes).get()) == [frame])
    }

    @Test func offersAreBounded() {
        let many = (0..<1000).map { "o\($0)=" + (0..<1000).map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n")
        let offers = RELPResponse(status: 200, text: [], body: Array(many.utf8)).offers
        #expect(offers.count == 64)
        #expect(offers.values.allSatisfy { $0.count <= 64 })
    }
}

@Suite struct RELPOpenOfferTests {
    @Test func theSoftwareOfferStaysOneOffer() {
        var settings = SyslogSettings()
        settings.software = "alveo,0.2.0"
        #expect(SyslogRELPProtocol(settings: settings).openOffers == Array("relp_version=0\nrelp_software=alveo,0.2.0\ncommands=syslog".utf8))
        settings.software = "evil\ncommands=close=x"
        let offers = RELPResponse(status: 200, text: [], body: SyslogRELPProtocol(settings: settings).openOffers).offers
        #expect(offers["commands"] == ["syslog"], "a LF in the software name cannot add an offer: \(offers)")
        #expect(offers["relp_software"] == ["evilcommandsclosex"])
        settings.software = "\n"
        #expect(RELPResponse(status: 200, text: [], body: SyslogRELPProtocol(settings: settings).openOffers).offers["relp_software"] == ["alveo"])
    }
}
