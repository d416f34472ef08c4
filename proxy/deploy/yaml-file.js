// @ts-check
'use strict';
// YAML with comments for the generated deployment files: the `yaml` package's Document API, so every
// value is quoted correctly, and comments attached to the keys or items they explain.

const YAML = require('yaml');

/**
 * @typedef {Array<string | number>} NodePath keys and sequence indices from the document root
 * @typedef {Array<[NodePath, string]>} Comments comment text (may span lines) before the node at each path
 */

/**
 * One YAML document: `header` above it, `comments` before the keys or items they name.
 * @param {unknown} value
 * @param {{ header?: string, comments?: Comments }} [options]
 * @returns {string}
 */
function yamlDocument(value, options = {}) {
  // No anchors: a generated file is read by people, and repeated blocks are the point.
  // YAML 1.1 quoting: docker-compose 1.x (PyYAML) and kubectl read `no`, `on` or `y` as booleans.
  const doc = new YAML.Document(value, { aliasDuplicateObjects: false, version: '1.1' });
  if (options.header) doc.commentBefore = commentText(options.header);
  for (const [nodePath, text] of options.comments ?? []) {
    const parentPath = nodePath.slice(0, -1);
    const last = nodePath[nodePath.length - 1];
    const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
    if (typeof last === 'number' && YAML.isSeq(parent)) {
      const item = parent.items[last];
      if (!YAML.isNode(item)) throw new Error(`yamlDocument: no item at ${nodePath.join('.')}`);
      item.commentBefore = commentText(text);
      continue;
    }
    if (!YAML.isMap(parent)) throw new Error(`yamlDocument: no map at ${parentPath.join('.')}`);
    const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === last);
    if (!pair || !YAML.isScalar(pair.key)) throw new Error(`yamlDocument: no key at ${nodePath.join('.')}`);
    pair.key.commentBefore = commentText(text);
  }
  return doc.toString({ lineWidth: 0, singleQuote: true });
}

/**
 * Several documents in one file, `---` between them.
 * @param {string[]} documents rendered with {@link yamlDocument}
 */
function yamlStream(documents) {
  return documents.map((d, i) => (i === 0 ? d : `---\n${d}`)).join('');
}

/** @param {string} text */
function commentText(text) {
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : ` ${line}`))
    .join('\n');
}

module.exports = { yamlDocument, yamlStream };
