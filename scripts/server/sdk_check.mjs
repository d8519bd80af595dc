// Official Node clients (npm cohere-ai, openai) against a running `rerank serve`. A ctest test (sdk_node, via
// scripts/server/sdk_test.sh); `make sdk-deps` installs the pinned packages into build/sdk/node. By hand:
//
//   make sdk-deps
//   SDK_DIR=build/sdk/node node scripts/server/sdk_check.mjs http://127.0.0.1:8080 KEY ce-tiny bi-tiny-mean
// (ES modules ignore NODE_PATH, so the script loads the packages with createRequire from $SDK_DIR, default
// build/sdk/node.)
import { createRequire } from "node:module";
import { resolve } from "node:path";

const [base = "http://127.0.0.1:8080", key = "none", reranker = "ce-tiny", embedder = "bi-tiny-mean"] = process.argv.slice(2);
const require = createRequire(resolve(process.env.SDK_DIR || "build/sdk/node") + "/package.json");
const { CohereClientV2, CohereClient } = require("cohere-ai");
const OpenAI = require("openai").default ?? require("openai");

const QUERY = "How do I reset my password?";
const DOCS = [
  "Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
  "Our office is open from nine to five on weekdays.",
  "To change your password, open Settings, then Security.",
  "The cafeteria serves lunch at noon.",
  "Password resets expire after 24 hours.",
];
let failures = 0;
const check = (name, ok, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failures++;
};
const raw = async (path, body) => {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return r.json();
};
const close = (a, b) => Math.abs(a - b) < 1e-6;

const want = (await raw("/v2/rerank", { model: reranker, query: QUERY, documents: DOCS })).results;
const same = (got, n) =>
  got.length === n && got.every((r, i) => r.index === want[i].index && close(r.relevanceScore, want[i].relevance_score));

const co2 = new CohereClientV2({ token: key, environment: base });
let r = await co2.rerank({ model: reranker, query: QUERY, documents: DOCS, topN: 3 });
check("cohere-ai CohereClientV2.rerank (topN=3)", same(r.results, 3), JSON.stringify(r.results.map((x) => x.index)));

const co1 = new CohereClient({ token: key, environment: base });
r = await co1.rerank({ model: reranker, query: QUERY, documents: DOCS.map((text) => ({ text })), topN: 2, returnDocuments: true });
check("cohere-ai CohereClient (v1).rerank with returnDocuments", same(r.results, 2) && r.results[0].document.text === DOCS[r.results[0].index]);

const oa = new OpenAI({ apiKey: key, baseURL: base + "/v1" });
const texts = ["first text", "second text"];
const wantEmb = (await raw("/v1/embeddings", { model: embedder, input: texts, encoding_format: "float" })).data;
for (const fmt of [undefined, "float"]) {
  const e = await oa.embeddings.create({ model: embedder, input: texts, ...(fmt ? { encoding_format: fmt } : {}) });
  const ok = e.data.length === 2 && e.data.every((d, i) => d.embedding.length === wantEmb[i].embedding.length &&
    d.embedding.every((v, k) => close(v, wantEmb[i].embedding[k])));
  check(`openai embeddings.create (encoding_format=${fmt ?? "SDK default"})`, ok, `dim ${e.data[0].embedding.length}, usage ${e.usage.prompt_tokens}`);
}
console.log(failures ? `${failures} failed` : "all passed");
process.exit(failures ? 1 : 0);
