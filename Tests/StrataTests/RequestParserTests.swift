import NIOCore
import RESP
import XCTest

final class RequestParserTests: XCTestCase {
    func testPlaceholder() {}
}
