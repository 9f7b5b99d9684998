// sse_ttfb.mjs -- time to the first chunk of an event stream, for bench/proxy.sh.
//   node sse_ttfb.mjs PORT [N]   -> prints the median and p99 in microseconds
// N sequential requests on one keep-alive connection to /sse; the clock runs
// from writing the request to the first body bytes.
import http from 'node:http';

const port = Number(process.argv[2]);
const n = Number(process.argv[3] || 300);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const times = [];
for (let i = 0; i < n; i++) {
  times.push(await new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0n;
    const req = http.get({ host: '127.0.0.1', port, path: '/openai/deployments/gpt-4o/chat/completions?sse=1', agent }, (res) => {
      res.on('data', () => { if (!first) first = process.hrtime.bigint(); });
      res.on('end', () => resolve(Number(first - t0) / 1000));
    });
    req.on('error', reject);
  }));
}
agent.destroy();
times.sort((a, b) => a - b);
console.log(`${times[Math.floor(n / 2)].toFixed(0)} ${times[Math.floor(n * 0.99)].toFixed(0)}`);
