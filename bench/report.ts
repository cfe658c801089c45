/**
 * What every bench ends with: its markdown on stdout (a title, the machine, the details, and the table of figures:
 * ours, the peer or limit measured in the same run, the ratio) and, when BENCH_RESULT_FILE is set, the same as
 * JSON in that file, which `npm run bench` (all.ts) collects into docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Db } from '../src/warehouse/db.js';

/** One row of a bench's figures table, every cell already formatted. */
export interface Figure {
  figure: string;
  ours: string;
  peer: string;
  ratio: string;
}

/** The JSON a bench writes to BENCH_RESULT_FILE. */
export interface BenchResult {
  /** The bench's name: run, backfill, queries, archive… (its script is build/bench/<bench>.js). */
  bench: string;
  /** What was measured, on what data: the heading after `bench:<bench> — `. */
  title: string;
  /** CPUs × model, RAM, node, PostgreSQL and the server's label: {@link machineLine}. */
  machine: string;
  /** Markdown between the machine line and the figures table (may be empty). */
  details: string;
  figures: Figure[];
  /** Wall time of the bench's process, start-up included. */
  seconds: number;
  /** The heading of the figures table's peer column. */
  peerHeading: string;
}

export interface Report {
  bench: string;
  title: string;
  machine: string;
  /** Markdown lines printed between the machine line and the figures table. */
  details: string[];
  figures: Figure[];
  /** Heading of the peer column; `peer or limit (same run)` unless told. */
  peerHeading?: string;
}

/**
 * The machine a bench ran on: `2 × <cpu model>, 23 GiB, node v20…, PostgreSQL 18.1, <server label>`. The label is
 * the target's (host:port and FXPIPE_HOME, or host:port/database of DATABASE_URL), never its URL: no password.
 */
export async function machineLine(db: Db, serverLabel: string): Promise<string> {
  const [version] = await db.query<{ v: string }>('select version() as v');
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${version?.v.split(' on ')[0]}, ${serverLabel}`;
}

const cell = (text: string) => text.replaceAll('\n', ' ');

/** The figures table as markdown lines. */
export function figuresTable(figures: Figure[], peerHeading = 'peer or limit (same run)'): string[] {
  return [
    `| figure | ours | ${peerHeading} | ratio |`,
    '|---|---|---|---|',
    ...figures.map((f) => `| ${cell(f.figure)} | ${cell(f.ours)} | ${cell(f.peer)} | ${cell(f.ratio)} |`),
  ];
}

/** A bench's whole markdown; `level` is the heading level of its title (1 on stdout, deeper inside a document). */
export function renderBench(
  result: Pick<BenchResult, 'bench' | 'title' | 'machine' | 'details' | 'figures' | 'peerHeading'>,
  level = 1,
): string {
  const lines = [`${'#'.repeat(level)} bench:${result.bench} — ${result.title}`, `machine: ${result.machine}`, ''];
  if (result.details.trim()) lines.push(result.details.trimEnd(), '');
  lines.push(...figuresTable(result.figures, result.peerHeading));
  return lines.join('\n');
}

/** Prints the bench's markdown on stdout and, when BENCH_RESULT_FILE is set, writes its JSON there. */
export function report(r: Report): void {
  const result: BenchResult = {
    bench: r.bench,
    title: r.title,
    machine: r.machine,
    details: r.details.join('\n'),
    figures: r.figures,
    seconds: Math.round(performance.now()) / 1000,
    peerHeading: r.peerHeading ?? 'peer or limit (same run)',
  };
  console.log(renderBench(result));
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
