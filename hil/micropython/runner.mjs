#!/usr/bin/env node
// Run a Python script inside the official MicroPython WebAssembly port
// (npm: @micropython/micropython-webassembly-pyscript, pinned in the repo's
// package.json) under Node.
//
//   node hil/micropython/runner.mjs [options] (SCRIPT.py | -)
//
//   --lib SRC[:NAME]   copy folder SRC into the interpreter's FS as /lib/NAME
//                      (NAME defaults to SRC's basename).  A relative SRC is
//                      resolved against the repository root, not the cwd.
//                      Repeatable.  Works for source trees and mpy-cross output.
//   --data DIR         copy DIR's files into /data (scripts read their input there)
//   --heap BYTES       initial GC heap (default 131072; see "Heap" below)
//   --pystack WORDS    Python stack size in words (default 2048, the port's default)
//   --stats FILE       after the run write JSON heap statistics to FILE
//   --name NAME        file name to show in tracebacks instead of "<stdin>"
//
// The script runs as top-level async code (runPythonAsync), so it may use
// `await`.  /lib is on sys.path and holds `hvhost`, a helper module:
// hvhost.urandom(n) (the port has no os.urandom), hvhost.result(obj) (prints
// the "@@RESULT <json>" line the Python API parses), hvhost.load_input(),
// hvhost.data(name), hvhost.perf_us() and `await hvhost.collect()`.
//
// Exit status: 0 on success; 1 when a Python exception escapes (its
// MicroPython traceback goes to stderr); the code of SystemExit(n); 2 when
// the runner itself cannot start (bad arguments, package missing) or the
// interpreter aborts; 3 when the script awaits a promise that never settles.
//
// Heap: this port is built with MICROPY_GC_SPLIT_HEAP_AUTO.  --heap sets the
// size of the first heap area only; when it is full the heap grows (up to
// 128 MiB per new area) instead of raising MemoryError, and gc.collect() only
// *requests* a collection, which happens when control returns to JavaScript
// (between top-level calls, or at an `await`, see hvhost.collect).  So the
// device's RAM budget is not enforced here: measure allocation with
// gc.mem_alloc() deltas and retained memory after `await hvhost.collect()`.

import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
const PACKAGE = "@micropython/micropython-webassembly-pyscript";
const DEFAULT_HEAP = 128 * 1024;
let finished = false; // set once main() settles or the runner exits on purpose
const SKIP = new Set(["__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"]);

function usage(message) {
  process.stderr.write(`runner.mjs: ${message}\n`);
  process.stderr.write(
    "usage: node hil/micropython/runner.mjs [--lib SRC[:NAME]]... [--data DIR] " +
      "[--heap BYTES] [--pystack WORDS] [--stats FILE] [--name NAME] (SCRIPT.py | -)\n",
  );
  finished = true;
  process.exit(2);
}

function parseSize(text, flag) {
  const m = /^(\d+)([kKmM]?)$/.exec(text ?? "");
  if (!m) usage(`${flag} wants a positive integer (optionally with k or m), got ${text}`);
  const mult = { "": 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()];
  const value = Number(m[1]) * mult;
  if (value <= 0) usage(`${flag} must be positive`);
  return value;
}

function parseArgs(argv) {
  const opts = { libs: [], data: null, heap: DEFAULT_HEAP, pystack: 2048, stats: null, name: null, script: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--lib") {
      const spec = value();
      const colon = spec.lastIndexOf(":");
      const src = colon > 0 ? spec.slice(0, colon) : spec;
      const resolved = path.resolve(REPO, src);
      const name = colon > 0 ? spec.slice(colon + 1) : path.basename(resolved);
      if (!name || name.includes("/")) usage(`bad --lib target name in ${spec}`);
      opts.libs.push({ src: resolved, name });
    } else if (arg === "--data") opts.data = path.resolve(value());
    else if (arg === "--heap") opts.heap = parseSize(value(), arg);
    else if (arg === "--pystack") opts.pystack = parseSize(value(), arg);
    else if (arg === "--stats") opts.stats = path.resolve(value());
    else if (arg === "--name") opts.name = value();
    else if (arg === "-h" || arg === "--help") usage("help");
    else if (arg.startsWith("--")) usage(`unknown option ${arg}`);
    else if (opts.script === null) opts.script = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (opts.script === null) usage("no script given (a file name, or - for stdin)");
  return opts;
}

async function loadPackage() {
  let entry;
  try {
    entry = createRequire(path.join(REPO, "package.json")).resolve(PACKAGE);
  } catch {
    process.stderr.write(
      `runner.mjs: ${PACKAGE} is not installed under ${REPO}/node_modules; run \`npm ci\` (or \`make test\`)\n`,
    );
    finished = true;
    process.exit(2);
  }
  return import(pathToFileURL(entry).href);
}

// Byte sink that forwards whole lines as they complete (and the rest at exit),
// so output streams while long scripts run.
function lineSink(stream) {
  let buf = [];
  const flush = () => {
    if (buf.length) {
      stream.write(Buffer.from(buf));
      buf = [];
    }
  };
  const put = (c) => {
    buf.push(c);
    if (c === 10 || buf.length >= 8192) flush();
  };
  return { put, flush };
}

function copyTree(FS, src, dest) {
  const st = fs.statSync(src, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) usage(`--lib ${src}: not a directory`);
  mkdirs(FS, dest);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || SKIP.has(entry.name)) continue;
    const from = path.join(src, entry.name);
    const to = `${dest}/${entry.name}`;
    if (entry.isDirectory()) copyTree(FS, from, to);
    else if (entry.isFile()) FS.writeFile(to, fs.readFileSync(from));
  }
}

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += `/${part}`;
    if (!FS.analyzePath(cur).exists) FS.mkdir(cur);
  }
}

function readScript(spec) {
  try {
    return spec === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(spec, "utf8");
  } catch (err) {
    usage(`cannot read script ${spec}: ${err.message}`);
  }
}

function heapStats(mp, sink) {
  // micropython.mem_info() prints "GC: total: T, used: U, free: F, max new split: S".
  let text = "";
  const saved = sink.target;
  sink.target = (c) => {
    text += String.fromCharCode(c);
  };
  try {
    mp.runPython("import micropython as _hv_m\n_hv_m.mem_info()\ndel _hv_m");
  } finally {
    sink.target = saved;
  }
  const m = /GC: total: (\d+), used: (\d+), free: (\d+)/.exec(text);
  return m ? { total: Number(m[1]), used: Number(m[2]), free: Number(m[3]) } : null;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const source = readScript(opts.script);
  const name = opts.name ?? (opts.script === "-" ? "<stdin>" : path.basename(opts.script));
  const { loadMicroPython } = await loadPackage();

  globalThis.hvEntropy = (n) => new Uint8Array(crypto.randomBytes(n));
  // hvhost.collect(): with node --expose-gc, JavaScript's collector runs first, and the
  // promise settles a timer turn later, after the FinalizationRegistry callbacks that let
  // go of the Python objects JavaScript no longer holds (the port keeps every Python
  // object handed to JavaScript, e.g. an awaited promise's callbacks, in a table in the
  // MicroPython heap until then: garbage an ESP32 never makes).
  globalThis.hvYield = () =>
    new Promise((resolve) => {
      if (typeof globalThis.gc === "function") globalThis.gc();
      setTimeout(() => setImmediate(() => resolve(null)), 0);
    });

  const out = lineSink(process.stdout);
  const err = lineSink(process.stderr);
  // stdout goes through a switchable target so the runner can capture mem_info.
  const stdoutSink = { target: out.put };
  const mp = await loadMicroPython({
    heapsize: opts.heap,
    pystack: opts.pystack,
    linebuffer: false,
    stdout: (bytes) => bytes.forEach((c) => stdoutSink.target(c)),
    stderr: (bytes) => bytes.forEach((c) => err.put(c)),
  });

  const FS = mp.FS;
  mkdirs(FS, "/lib");
  FS.writeFile("/lib/hvhost.py", fs.readFileSync(path.join(HERE, "hvhost.py")));
  for (const lib of opts.libs) copyTree(FS, lib.src, `/lib/${lib.name}`);
  mkdirs(FS, "/data");
  if (opts.data) copyTree(FS, opts.data, "/data");

  const initial = heapStats(mp, stdoutSink);
  let status = 0;
  try {
    await mp.runPythonAsync(source);
  } catch (error) {
    if (!error || error.name !== "PythonError") throw error;
    status = exitStatus(error, name, out, err);
  }
  out.flush();
  err.flush();
  if (opts.stats) {
    // Returning to JS ran the pending top-level collection; "used" is what the
    // script left reachable (its globals), "total" the heap the run grew to.
    const final = heapStats(mp, stdoutSink);
    const stats = { initial_heap: opts.heap, initial, final };
    fs.writeFileSync(opts.stats, JSON.stringify(stats) + "\n");
  }
  return status;
}

function exitStatus(error, name, out, err) {
  const trace = String(error.message).replaceAll('File "<stdin>"', `File "${name}"`);
  out.flush();
  if (error.type === "SystemExit") {
    // MicroPython reports SystemExit's argument as the text after "SystemExit: ".
    const m = /SystemExit: ?(.*)\n?$/.exec(trace);
    const arg = m ? m[1].trim() : "";
    if (arg === "" || arg === "None") return 0;
    if (/^-?\d+$/.test(arg)) return Number(arg) & 0xff;
    err.flush();
    process.stderr.write(arg + "\n");
    return 1;
  }
  err.flush();
  process.stderr.write(trace.endsWith("\n") ? trace : trace + "\n");
  return 1;
}

process.on("exit", () => {
  if (!finished) {
    // The event loop drained while the script was still awaiting something.
    process.stderr.write("runner.mjs: the script never finished (it awaited a promise that never settled)\n");
    process.exitCode = 3;
  }
});

main().then(
  (status) => {
    finished = true;
    process.exitCode = status;
  },
  (error) => {
    finished = true;
    process.stderr.write(`runner.mjs: internal error: ${error && error.stack ? error.stack.split("\n")[0] : error}\n`);
    process.exitCode = 2;
  },
);
