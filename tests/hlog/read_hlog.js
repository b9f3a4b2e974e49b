// Reads an HdrHistogram interval log with hdr-histogram-js, an independent
// implementation of HdrHistogram, and prints one JSON object per interval:
// its tag, start, total count and the values at some percentiles.
// Usage: node read_hlog.js LOG  (NODE_PATH names the folder holding node_modules)
const fs = require("fs");
const hdr = require("hdr-histogram-js");
const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], "utf8"));
const out = [];
for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
  out.push({
    tag: h.tag,
    start_ms: h.startTimeStampMsec,
    total: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  });
}
console.log(JSON.stringify(out));
