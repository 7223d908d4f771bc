// The values web/tools/export_stark_values.py writes (read once per test file).
import { readJson } from "./helpers.js";

export const STARK = readJson("web/test/fixtures/stark_values.json");
