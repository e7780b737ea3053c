#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node, CPU) on float32 inputs read from a
// raw little-endian file, for Bonsai's export tests, benchmarks and demo.
//
//   node run.js --model M.onnx --input X.f32 --dims N,C,H,W [--out Y.f32] [--batch B]
//               [--threads T] [--bench-seconds S]
//
// The input is fed to the model's first input in chunks of B rows (default: all N at once); the
// first output of every chunk is appended to --out as raw little-endian float32. One JSON line
// goes to stdout: {"output": name, "dims": [N, ...], "seconds": s, "images_per_second": r}.
// With --bench-seconds S, after one untimed pass the whole input is run again and again until
// S seconds have passed, and the rate is that of the timed passes.
//
// Install once with `npm ci --ignore-scripts` in this folder (the package's install script
// downloads CUDA add-ons, which Bonsai does not use).
'use strict';
const fs = require('node:fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument ${argv[i]}: want --name value pairs`);
    }
    a[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['model', 'input', 'dims']) {
    if (!a[k]) throw new Error(`--${k} is required`);
  }
  return a;
}

function readInput(path, dims) {
  const buf = fs.readFileSync(path);
  const n = dims.reduce((p, d) => p * d, 1);
  if (buf.length !== 4 * n) {
    throw new Error(`${path} has ${buf.length} bytes; dims ${dims} need ${4 * n}`);
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(4 * i);
  return data;
}

async function runAll(session, data, dims, batch) {
  const row = dims.slice(1).reduce((p, d) => p * d, 1);
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const parts = [];
  let outDims = null;
  for (let start = 0; start < dims[0]; start += batch) {
    const n = Math.min(batch, dims[0] - start);
    const x = new ort.Tensor('float32', data.subarray(start * row, (start + n) * row), [n, ...dims.slice(1)]);
    const res = await session.run({ [inName]: x });
    const y = res[outName];
    parts.push(y.data);
    outDims = outDims ? [outDims[0] + y.dims[0], ...outDims.slice(1)] : [...y.dims];
  }
  return { outName, outDims, parts };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const dims = a.dims.split(',').map(Number);
  const data = readInput(a.input, dims);
  const opts = {};
  if (a.threads) opts.intraOpNumThreads = Number(a.threads);
  const session = await ort.InferenceSession.create(a.model, opts);
  const batch = a.batch ? Number(a.batch) : dims[0];
  let t0 = process.hrtime.bigint();
  let r = await runAll(session, data, dims, batch);
  let images = dims[0];
  if (a['bench-seconds']) {
    const limit = Number(a['bench-seconds']);
    images = 0;
    t0 = process.hrtime.bigint();
    do {
      r = await runAll(session, data, dims, batch);
      images += dims[0];
    } while (Number(process.hrtime.bigint() - t0) / 1e9 < limit);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (a.out) {
    const bufs = r.parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    fs.writeFileSync(a.out, Buffer.concat(bufs));
  }
  console.log(JSON.stringify({ output: r.outName, dims: r.outDims, seconds, images_per_second: images / seconds }));
}

main().catch((err) => {
  console.error(`onnxruntime: ${err.message}`);
  process.exit(1);
});
