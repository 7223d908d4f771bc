// Where the page reads a publication's files: beside itself on its web server, or in a folder
// the user chooses or drops (docs/browser-verifier.md, section 3). Each source is
// { where, read(path) }, where read resolves to the file's bytes (a Uint8Array) or null when
// there is no such file: the interface checkPublication (web/src/check.js) reads through.

export const STATEMENT = "statement.json";

/** The files beside the page on its server (base: the page's folder URL), fetched uncached. */
export function servedFiles(base) {
  return {
    where: base.href,
    async read(path) {
      const response = await fetch(new URL(path, base), {
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
      });
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`${path}: the server answered HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/**
 * The files of a chosen or dropped folder: pairs [path inside the folder, File]. A folder
 * holding the publication one level down (one subfolder with statement.json) is accepted too.
 */
export function folderFiles(pairs, where) {
  const files = new Map(pairs);
  let prefix = "";
  if (!files.has(STATEMENT)) {
    const below = [...files.keys()].filter((p) => p.split("/").length === 2 && p.endsWith(`/${STATEMENT}`));
    if (below.length === 1) prefix = below[0].slice(0, -STATEMENT.length);
  }
  return {
    where: prefix ? `${where}/${prefix.slice(0, -1)}` : where,
    async read(path) {
      const file = files.get(prefix + path);
      return file === undefined ? null : new Uint8Array(await file.arrayBuffer());
    },
  };
}

/** The pairs of an <input webkitdirectory>'s files: each path without the folder's own name. */
export function pickedPairs(fileList) {
  return [...fileList].map((f) => [f.webkitRelativePath.split("/").slice(1).join("/"), f]);
}

/** The chosen folder's name, from an <input webkitdirectory>'s files. */
export function pickedName(fileList) {
  return fileList.length ? fileList[0].webkitRelativePath.split("/")[0] : "";
}

/**
 * The pairs of a drop: a dropped folder's files (paths inside it), or dropped files (their
 * names). Resolves to { name, pairs }.
 */
export async function droppedPairs(dataTransfer) {
  const entries = [...dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) {
    // a browser (or a drop) without file system entries: the dropped files by their names
    return { name: "the dropped files", pairs: [...dataTransfer.files].map((f) => [f.name, f]) };
  }
  if (entries.length === 1 && entries[0].isDirectory) {
    return { name: entries[0].name, pairs: await directoryPairs(entries[0], "") };
  }
  const pairs = [];
  for (const entry of entries) {
    if (entry.isDirectory) pairs.push(...(await directoryPairs(entry, `${entry.name}/`)));
    else pairs.push([entry.name, await entryFile(entry)]);
  }
  return { name: "the dropped files", pairs };
}

async function directoryPairs(directory, prefix) {
  const pairs = [];
  for (const entry of await allEntries(directory)) {
    if (entry.isDirectory) pairs.push(...(await directoryPairs(entry, `${prefix}${entry.name}/`)));
    else pairs.push([prefix + entry.name, await entryFile(entry)]);
  }
  return pairs;
}

/** Every entry of a directory: readEntries gives them a batch at a time, then an empty one. */
async function allEntries(directory) {
  const reader = directory.createReader();
  const entries = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}
