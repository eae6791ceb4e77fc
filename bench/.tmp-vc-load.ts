import { Pool } from 'undici';
const [base, path, secs] = [process.argv[2], process.argv[3], Number(process.argv[4] ?? 5)];
const pool = new Pool(base, { connections: 32, pipelining: 1 });
let n = 0; let errors = 0; const lat: number[] = [];
const end = Date.now() + secs * 1000;
async function worker() {
  while (Date.now() < end) {
    const t = performance.now();
    const r = await pool.request({ path, method: 'GET' });
    await r.body.text();
    if (r.statusCode !== 200) errors++;
    lat.push(performance.now() - t); n++;
  }
}
await Promise.all(Array.from({ length: 32 }, worker));
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ rps: Math.round(n / secs), errors, p50: lat[Math.floor(lat.length / 2)].toFixed(2), p99: lat[Math.floor(lat.length * 0.99)].toFixed(2) }));
await pool.close();
