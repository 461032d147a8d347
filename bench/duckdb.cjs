// DuckDB's selection over a CloudTrail archive, for `make bench`: every record of every
// .json.gz file, the EKS and IAM calls that change something, counted. DuckDB assesses
// nothing: this is the floor of "read the archive and pick the records".
//
//   node bench/duckdb.cjs MODULE_DIR ARCHIVE THREADS
//
// MODULE_DIR is where `npm install @duckdb/node-api` put its node_modules (run.sh installs it
// under bench/out/duckdb). Prints: selected-record-count seconds.
const path = require('node:path');
const [moduleDir, archive, threads] = process.argv.slice(2);
const { DuckDBInstance } = require(path.join(path.resolve(moduleDir), 'node_modules', '@duckdb', 'node-api'));

(async () => {
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads || 2) });
  const conn = await db.connect();
  const glob = path.join(path.resolve(archive), '**', '*.json.gz').replaceAll("'", "''");
  const sql = `
    SELECT count(*) FROM (
      SELECT unnest(json_extract(json, '$.Records[*]')) AS r
      FROM read_json_objects('${glob}', format = 'auto', compression = 'gzip')
    )
    WHERE json_extract_string(r, '$.eventSource') IN ('eks.amazonaws.com', 'iam.amazonaws.com')
      AND json_extract_string(r, '$.readOnly') = 'false'`;
  const t0 = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(sql);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(String(reader.getRows()[0][0]), secs.toFixed(3));
})().catch((err) => {
  console.error('duckdb:', err.message);
  process.exit(1);
});
