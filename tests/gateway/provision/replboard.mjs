#!/usr/bin/env node
// A simulated keypad on a serial line: the real MicroPython REPL (the
// WebAssembly port's mp_js_repl_init / mp_js_repl_process_char) behind the
// master side of a pty, so mpremote talks to it on /dev/pts/N as to a board.
//
//   node replboard.mjs [--fd N] [--put DIR]...
//
//   --fd N     the pty master's file descriptor (default 3)
//   --put DIR  copy DIR's tree into the board's filesystem root first (repeatable)
//
// What a real board does and this one does too:
// * friendly and raw REPL (Ctrl-A / Ctrl-B / Ctrl-C), by MicroPython itself;
// * raw-paste mode (Ctrl-E A Ctrl-A) with its flow-control window; the port's
//   event-driven REPL lacks it, so it is done here and the pasted code is
//   then fed to the raw REPL;
// * soft reset (Ctrl-D on an empty line): "MPY: soft reboot", a fresh
//   interpreter (new heap, no modules), the same filesystem, and back to the
//   REPL mode it was in;
// * os.urandom (the ESP32 has it; this port does not): host randomness.
// The filesystem is the interpreter's in-memory one; it lives as long as
// this process.

import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..", "..");
const PACKAGE = "@micropython/micropython-webassembly-pyscript";
const SKIP_TOP = new Set(["dev", "proc", "tmp", "home"]);
const WINDOW = 128;
const BOOT = `
import os, js
def _urandom(n):
    return bytes(js.hvEntropy(n))
os.urandom = _urandom
del _urandom
os.chdir("/")
`;

function parseArgs(argv) {
  const opts = { fd: 3, puts: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--fd") opts.fd = Number(argv[++i]);
    else if (argv[i] === "--put") opts.puts.push(path.resolve(argv[++i]));
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const entry = createRequire(path.join(REPO, "package.json")).resolve(PACKAGE);
const { loadMicroPython } = await import(pathToFileURL(entry).href);
globalThis.hvEntropy = (n) => new Uint8Array(crypto.randomBytes(n));

const write = (bytes) => {
  const buf = Buffer.from(bytes);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(opts.fd, buf, off);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
};

let captured = null; // output of the interpreter, collected per fed character
let mp = null;

async function newInterpreter(files) {
  captured = [];
  const sink = (bytes) => captured.push(...bytes);
  const interp = await loadMicroPython({ heapsize: 4 * 1024 * 1024, stdout: sink, stderr: sink, linebuffer: false });
  for (const [name, data] of files) {
    mkdirs(interp.FS, path.posix.dirname(name));
    interp.FS.writeFile(name, data);
  }
  interp.runPython(BOOT);
  interp.replInit();
  captured = [];
  return interp;
}

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += `/${part}`;
    if (!FS.analyzePath(cur).exists) FS.mkdir(cur);
  }
}

function snapshot(FS, dir = "/", out = []) {
  for (const name of FS.readdir(dir)) {
    if (name === "." || name === ".." || (dir === "/" && SKIP_TOP.has(name))) continue;
    const full = dir === "/" ? `/${name}` : `${dir}/${name}`;
    const st = FS.stat(full);
    if (FS.isDir(st.mode)) snapshot(FS, full, out);
    else out.push([full, FS.readFile(full)]);
  }
  return out;
}

function hostTree(root, dest = "", out = []) {
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const from = path.join(root, e.name);
    if (e.isDirectory()) hostTree(from, `${dest}/${e.name}`, out);
    else out.push([`${dest}/${e.name}`, fs.readFileSync(from)]);
  }
  return out;
}

// --------------------------------------------------------------- the line

let raw = false; // in the raw REPL?
let paste = null; // raw-paste state: {buf: [], since: 0} while receiving
let pending = []; // bytes after Ctrl-E in raw mode, until we know it is raw-paste
let stripOk = false;

function feed(c) {
  captured = [];
  const r = mp.replProcessChar(c);
  let out = captured;
  if (stripOk && out.length >= 2 && out[0] === 0x4f && out[1] === 0x4b) {
    out = out.slice(2);
    stripOk = false;
  }
  if (r & 0x100) return true; // PYEXEC_FORCED_EXIT: soft reset wanted
  if (out.length) write(out);
  return false;
}

async function softReset() {
  const files = snapshot(mp.FS);
  write(Buffer.from("MPY: soft reboot\r\n"));
  mp = await newInterpreter(files);
  if (raw) {
    feed(0x01);
  } else {
    write(Buffer.from("MicroPython (hallvote simulated keypad)\r\n>>> "));
  }
}

async function onByte(c) {
  if (paste !== null) {
    if (c === 0x04) {
      write([0x04]);
      const code = paste.buf;
      paste = null;
      stripOk = true;
      for (const b of code) feed(b);
      const reset = feed(0x04);
      stripOk = false;
      if (reset) await softReset();
      return;
    }
    if (c === 0x03) {
      paste = null;
      return;
    }
    paste.buf.push(c);
    if (++paste.since >= WINDOW) {
      paste.since = 0;
      write([0x01]);
    }
    return;
  }
  if (pending.length) {
    pending.push(c);
    if (pending.length < 3) return;
    const seq = pending;
    pending = [];
    if (seq[1] === 0x41 && seq[2] === 0x01) {
      write([0x52, 0x01, WINDOW & 0xff, WINDOW >> 8]);
      paste = { buf: [], since: 0 };
      return;
    }
    for (const b of seq) if (feed(b)) await softReset();
    return;
  }
  if (raw && c === 0x05) {
    pending = [c];
    return;
  }
  if (c === 0x01) raw = true;
  else if (c === 0x02) raw = false;
  if (feed(c)) await softReset();
}

const files = [];
for (const dir of opts.puts) files.push(...hostTree(dir));
mp = await newInterpreter(files);

let queue = Promise.resolve();
const buf = Buffer.alloc(4096);
function readLoop() {
  fs.read(opts.fd, buf, 0, buf.length, null, (err, n) => {
    if (err) {
      if (err.code === "EAGAIN") return setTimeout(readLoop, 5);
      process.exit(0); // the line is gone (EIO when no slave is open any more)
    }
    if (n === 0) process.exit(0);
    const chunk = Buffer.from(buf.subarray(0, n));
    queue = queue.then(async () => {
      for (const c of chunk) await onByte(c);
    });
    queue.then(readLoop, (e) => {
      process.stderr.write(`replboard: ${e && e.stack ? e.stack : e}\n`);
      process.exit(2);
    });
  });
}
process.on("SIGTERM", () => process.exit(0));
readLoop();
process.stderr.write("replboard: ready\n");
