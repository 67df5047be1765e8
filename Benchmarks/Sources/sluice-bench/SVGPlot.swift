import Foundation

/// A small line chart written as SVG by hand, so the results can be looked at in a browser or on GitHub
/// without plotting tools on the build machine.
struct LinePlot {
    struct Series {
        var name: String
        var color: String
        var dashed = false
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var logX = true
    var logY = true
    var series: [Series]
    /// Units for tick labels of the y axis (e.g. seconds are printed as ms/s).
    var formatY: (Double) -> String = { String(format: "%g", $0) }

    private let width = 760.0
    private let height = 460.0
    private let left = 80.0
    private let right = 250.0
    private let top = 50.0
    private let bottom = 60.0

    func render() -> String {
        let all = series.flatMap(\.points).filter { $0.y.isFinite && $0.y > 0 || !logY }
        guard !all.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let (x0, x1) = range(all.map(\.x), log: logX)
        var (y0, y1) = range(all.map(\.y), log: logY)
        if !logY { y0 = 0 }
        if y0 == y1 { y1 = y0 + 1 }
        let plotW = width - left - right
        let plotH = height - top - bottom
        func px(_ x: Double) -> Double {
            let t = logX ? (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) : (x - x0) / (x1 - x0)
            return left + t * plotW
        }
        func py(_ y: Double) -> Double {
            let t = logY ? (log10(y) - log10(y0)) / (log10(y1) - log10(y0)) : (y - y0) / (y1 - y0)
            return top + plotH - t * plotH
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

            """
        for tick in ticks(y0, y1, log: logY) {
            let y = py(tick)
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(escape(formatY(tick)))</text>\n"
        }
        for tick in ticks(x0, x1, log: logX) {
            let x = px(tick)
            svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(top)\" y2=\"\(top + plotH)\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(x)\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(count(tick))</text>\n"
        }
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 16)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text transform=\"translate(18 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (index, s) in series.enumerated() {
            let points = s.points.filter { !logY || ($0.y.isFinite && $0.y > 0) }.sorted { $0.x < $1.x }
            guard !points.isEmpty else { continue }
            let path = points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2.5\"\(dash)/>\n"
            for p in points {
                svg += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"3.5\" fill=\"\(s.color)\"/>\n"
            }
            let ly = top + 10 + Double(index) * 22
            let lx = left + plotW + 16
            svg +=
                "<line x1=\"\(lx)\" x2=\"\(lx + 26)\" y1=\"\(ly)\" y2=\"\(ly)\" stroke=\"\(s.color)\" stroke-width=\"2.5\"\(dash)/>\n"
            svg += "<text x=\"\(lx + 32)\" y=\"\(ly + 4)\">\(escape(s.name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func range(_ values: [Double], log: Bool) -> (Double, Double) {
        let lo = values.min()!
        let hi = values.max()!
        guard log else {
            let pad = (hi - lo) * 0.08
            return (lo - pad, hi + pad)
        }
        return (pow(10, floor(log10(lo))), pow(10, ceil(log10(hi))))
    }

    /// Decades (with 2 and 5 in between when there are few) on a log axis; about six round steps on a linear one.
    private func ticks(_ lo: Double, _ hi: Double, log: Bool) -> [Double] {
        if log {
            var out: [Double] = []
            var decade = lo
            let fewDecades = log10(hi / lo) <= 3
            while decade <= hi * 1.0001 {
                out.append(decade)
                if fewDecades {
                    for m in [2.0, 5.0] where decade * m < hi { out.append(decade * m) }
                }
                decade *= 10
            }
            return out
        }
        let raw = (hi - lo) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return stride(from: ceil(lo / step) * step, through: hi, by: step).map { $0 }
    }

    private func count(_ value: Double) -> String {
        value >= 1000 ? String(format: "%gk", value / 1000) : String(format: "%g", value)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
