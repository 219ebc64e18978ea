#!/usr/bin/env -S node --max-semi-space-size=64
// A larger young generation: a run allocates short-lived request and answer objects for every LLM call, and with
// V8's default 16 MB semi-spaces scavenges took about a sixth of the CPU (bench/README.md, "Engine overhead").
import '../dist/engine/cli/main.js';
