import ts from 'typescript';

/**
 * Facts read from the application's own source with the TypeScript parser (not regexes), so that the infra
 * consistency checks follow the code as it changes: which configuration names it reads and which HTTP methods
 * its Resource Manager client sends.
 */

function parse(fileName: string, source: string): ts.SourceFile {
  return ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

function visit(node: ts.Node, fn: (node: ts.Node) => void): void {
  fn(node);
  node.forEachChild((child) => visit(child, fn));
}

function unwrap(node: ts.Expression): ts.Expression {
  let current = node;
  while (
    ts.isAsExpression(current) ||
    ts.isParenthesizedExpression(current) ||
    ts.isSatisfiesExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

function propertyName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name))
    return name.text;
  return undefined;
}

/**
 * Configuration names src/config.ts reads: the keys of `envSchema.properties`, plus every `AzureWebJobsStorage*`
 * string literal (those are read outside the schema). Throws if `envSchema` cannot be found, so a rename
 * breaks the test instead of silently checking nothing.
 */
export function configNamesFromSource(source: string, fileName = 'src/config.ts'): string[] {
  const file = parse(fileName, source);
  const names = new Set<string>();
  let schemaFound = false;
  visit(file, (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'envSchema') {
      const init = node.initializer ? unwrap(node.initializer) : undefined;
      if (init === undefined || !ts.isObjectLiteralExpression(init)) return;
      for (const prop of init.properties) {
        if (!ts.isPropertyAssignment(prop) || propertyName(prop.name) !== 'properties') continue;
        const props = unwrap(prop.initializer);
        if (!ts.isObjectLiteralExpression(props)) continue;
        schemaFound = true;
        for (const entry of props.properties) {
          const name = entry.name === undefined ? undefined : propertyName(entry.name);
          if (name !== undefined) names.add(name);
        }
      }
    }
    if (ts.isStringLiteral(node) && /^AzureWebJobsStorage(__\w+)?$/.test(node.text)) names.add(node.text);
  });
  if (!schemaFound) throw new Error(`${fileName}: no envSchema.properties object found`);
  return [...names].sort();
}

/** Names read as `process.env.NAME` or `process.env['NAME']` anywhere in a file. */
export function processEnvNamesFromSource(source: string, fileName = 'source.ts'): string[] {
  const names = new Set<string>();
  const isProcessEnv = (node: ts.Expression): boolean =>
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'env' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'process';
  visit(parse(fileName, source), (node) => {
    if (ts.isPropertyAccessExpression(node) && isProcessEnv(node.expression)) names.add(node.name.text);
    if (
      ts.isElementAccessExpression(node) &&
      isProcessEnv(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression)
    ) {
      names.add(node.argumentExpression.text);
    }
  });
  return [...names].sort();
}

const HTTP_METHODS = new Set(['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD']);

/** HTTP method names that occur as string literals (values or literal types) in a file. */
export function httpMethodsFromSource(source: string, fileName = 'source.ts'): string[] {
  const methods = new Set<string>();
  visit(parse(fileName, source), (node) => {
    if (ts.isStringLiteralLike(node) && HTTP_METHODS.has(node.text)) methods.add(node.text);
  });
  return [...methods].sort();
}

/**
 * For each place a string literal `value` is used as a value (not as a type), the source text of the innermost
 * function around it: enough to tell which request a method name belongs to.
 */
export function functionsUsingLiteral(source: string, value: string, fileName = 'source.ts'): string[] {
  const file = parse(fileName, source);
  const out: string[] = [];
  visit(file, (node) => {
    if (!ts.isStringLiteralLike(node) || node.text !== value) return;
    let current: ts.Node | undefined = node.parent;
    while (current !== undefined) {
      if (ts.isTypeNode(current)) return;
      if (ts.isFunctionLike(current)) break;
      current = current.parent;
    }
    // Outside any function there is no request to tie it to: an empty text matches nothing, so the test fails.
    out.push(current === undefined ? '' : current.getText(file));
  });
  return out;
}
