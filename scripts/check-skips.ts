/**
 * Fails a test run that skipped a test without a reason CI accepts. It reads the node:test TAP
 * files and Playwright JSON reports that scripts/test.sh writes (the paths given as arguments)
 * and lists every skipped, todo or fixme test with its reason. A skip passes only when its
 * reason matches a line of scripts/accepted-skips.txt (a regular expression, each with a
 * comment saying why CI may accept it). Outside CI (no CI variable) it only warns, so a
 * developer's machine without, say, KSM still runs the rest. Usage:
 * tsx scripts/check-skips.ts report.tap report.json …
 */
import fs from 'node:fs';
import path from 'node:path';

interface Skip {
  test: string;
  reason: string;
}

/** node:test TAP: "ok 3 - name # SKIP reason" (also TODO); subtests are indented. */
function skipsInTap(text: string): Skip[] {
  const found: Skip[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(?:not )?ok \d+ - (.*?) # (SKIP|TODO)\b ?(.*)$/.exec(line);
    if (match) found.push({ test: match[1]!, reason: match[3]!.trim() });
  }
  return found;
}

interface JsonSuite {
  title: string;
  file?: string;
  suites?: JsonSuite[];
  specs?: { title: string; file: string; tests: { status: string; annotations: { type: string; description?: string }[] }[] }[];
}

/** Playwright's JSON report: tests whose status is "skipped", with their skip/fixme annotation. */
function skipsInPlaywright(report: { suites: JsonSuite[] }): Skip[] {
  const found: Skip[] = [];
  const walk = (suite: JsonSuite, titles: string[]) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        if (test.status !== 'skipped') continue;
        const note = test.annotations.find((a) => a.type === 'skip' || a.type === 'fixme');
        found.push({ test: `${spec.file}: ${[...titles, spec.title].join(' › ')}`, reason: note?.description?.trim() ?? '' });
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title]);
  };
  for (const suite of report.suites) walk(suite, []);
  return found;
}

function acceptedReasons(): RegExp[] {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), 'accepted-skips.txt');
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => new RegExp(line));
}

const reports = process.argv.slice(2);
if (reports.length === 0) throw new Error('usage: check-skips.ts REPORT…');
const skips = reports.flatMap((file) => {
  if (!fs.existsSync(file)) throw new Error(`no test report at ${file}: did the stage run?`);
  const text = fs.readFileSync(file, 'utf8');
  return file.endsWith('.json') ? skipsInPlaywright(JSON.parse(text) as { suites: JsonSuite[] }) : skipsInTap(text);
});
const accepted = acceptedReasons();
const refused = skips.filter((s) => !s.reason || !accepted.some((re) => re.test(s.reason)));
for (const s of skips) console.log(`${refused.includes(s) ? 'NOT ACCEPTED' : 'accepted'}: skipped ${s.test} (${s.reason || 'no reason given'})`);
if (refused.length > 0) {
  const ci = Boolean(process.env.CI);
  console.error(
    `${refused.length} test(s) skipped without a reason CI accepts (scripts/accepted-skips.txt)${ci ? '' : '; not failing outside CI (CI is not set)'}.`,
  );
  if (ci) process.exit(1);
} else {
  console.log(`No unexplained skips (${skips.length} accepted).`);
}
