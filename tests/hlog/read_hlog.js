// Reads an HdrHistogram interval log with hdr-histogram-js, an independent
// implementation of HdrHistogram, and prints one JSON object per interval:
// its tag, start, total count and the values at some percentiles.
// With --sum, one object per tag instead: the sum of its intervals' histograms.
// Usage: node read_hlog.js [--sum] LOG...  (NODE_PATH names the folder holding node_modules)
const fs = require("fs");
const hdr = require("hdr-histogram-js");
const args = process.argv.slice(2);
const sum = args[0] === "--sum";
const describe = (h, tag) => ({
  tag: tag,
  start_ms: h.startTimeStampMsec,
  total: h.totalCount,
  p50: h.getValueAtPercentile(50),
  p90: h.getValueAtPercentile(90),
  p99: h.getValueAtPercentile(99),
  p999: h.getValueAtPercentile(99.9),
  max: h.maxValue,
});
const out = [];
const sums = new Map();
for (const file of sum ? args.slice(1) : args) {
  const reader = new hdr.HistogramLogReader(fs.readFileSync(file, "utf8"));
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    if (!sum) {
      out.push(describe(h, h.tag));
    } else if (!sums.has(h.tag)) {
      const total = hdr.build({ numberOfSignificantValueDigits: h.numberOfSignificantValueDigits,
                                highestTrackableValue: h.highestTrackableValue });
      total.add(h);
      sums.set(h.tag, total);
    } else {
      sums.get(h.tag).add(h);
    }
  }
}
for (const [tag, h] of sums) out.push(describe(h, tag));
console.log(JSON.stringify(out));
