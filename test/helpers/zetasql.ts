/**
 * GoogleSQL's own analyzer (ZetaSQL, the component BigQuery's dialect comes from) as a local gRPC
 * server, from the npm package @fivetrandevelopers/zetasql: a script is analyzed one statement at
 * a time against a catalog of the tables' schemas, with its typed query parameters.
 */
import { LanguageOptions, runServer, terminateServer, ZetaSQLClient } from '@fivetrandevelopers/zetasql';
import type { LanguageOptionsProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/LanguageOptionsProto';
import type { SimpleCatalogProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleCatalogProto';
import type { TypeKind } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeKind';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto';
import { freePort } from '../../shared/local/emulator';
import type { NestedType } from '../../shared/events/ga4-export';
import type { ColumnType, TableSchema } from '../../shared/schema';

/** BigQuery's type names, as a table schema or a query parameter gives them, in ZetaSQL's kinds. */
const KINDS: Record<ColumnType | 'DATETIME', TypeKind> = {
  DATETIME: 'TYPE_DATETIME',
  STRING: 'TYPE_STRING',
  INT64: 'TYPE_INT64',
  FLOAT64: 'TYPE_DOUBLE',
  NUMERIC: 'TYPE_NUMERIC',
  BOOL: 'TYPE_BOOL',
  DATE: 'TYPE_DATE',
  TIMESTAMP: 'TYPE_TIMESTAMP',
};

/** The statements daily-kpis sends to BigQuery, and nothing else. */
const STATEMENT_KINDS = [
  'RESOLVED_QUERY_STMT',
  'RESOLVED_INSERT_STMT',
  'RESOLVED_DELETE_STMT',
  'RESOLVED_UPDATE_STMT',
  'RESOLVED_MERGE_STMT',
  'RESOLVED_BEGIN_STMT',
  'RESOLVED_COMMIT_STMT',
  'RESOLVED_ALTER_TABLE_STMT',
] as const;

export interface Analyzer {
  /** Analyzes a script statement by statement; resolves with each statement's problem, if any. */
  analyze(script: string, params: Record<string, ColumnType>): Promise<{ statement: string; error: string | null }[]>;
  stop(): void;
}

/**
 * A table as the catalog holds it: a column may also be DATETIME, as tables made outside
 * daily-kpis have, or nested (the GA4 export's STRUCT and ARRAY fields); a pseudo-column
 * (a wildcard table's `_TABLE_SUFFIX`) is read by name only, not by `SELECT *`.
 */
export type CatalogTable = Omit<TableSchema, 'columns'> & {
  columns: { name: string; type: NestedType | 'DATETIME'; pseudo?: boolean }[];
};

/** A column type as ZetaSQL's TypeProto. */
function typeProto(type: NestedType | 'DATETIME'): TypeProto {
  if (typeof type === 'string') return { typeKind: KINDS[type] };
  if ('array' in type) return { typeKind: 'TYPE_ARRAY', arrayType: { elementType: typeProto(type.array) } };
  return {
    typeKind: 'TYPE_STRUCT',
    structType: { field: type.struct.map((field) => ({ fieldName: field.name, fieldType: typeProto(field.type) })) },
  };
}

/**
 * Starts the analyzer with a catalog of `project.dataset.table` tables (one name to ZetaSQL, as
 * backticks make it); `others` adds tables of other projects, by project.
 */
export async function startAnalyzer(
  project: string,
  tables: CatalogTable[],
  others: Record<string, CatalogTable[]> = {},
): Promise<Analyzer> {
  const port = await freePort();
  void runServer(port);
  ZetaSQLClient.init(port);
  const client = ZetaSQLClient.getInstance();
  const deadline = Date.now() + 30_000;
  while (!(await client.testConnection().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the ZetaSQL server did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const language: LanguageOptionsProto = {
    ...(await new LanguageOptions().enableMaximumLanguageFeatures()).serialize(),
    supportedStatementKinds: [...STATEMENT_KINDS],
  };
  const catalog: SimpleCatalogProto = {
    name: 'daily_kpis',
    table: Object.entries({ ...others, [project]: tables }).flatMap(([owner, list]) =>
      list.map((table) => ({
        name: `${owner}.${table.dataset}.${table.table}`,
        column: table.columns.map((column) => ({
          name: column.name,
          type: typeProto(column.type),
          isWritableColumn: !column.pseudo,
          isPseudoColumn: column.pseudo ?? false,
        })),
      })),
    ),
    builtinFunctionOptions: { languageOptions: language },
  };
  return {
    async analyze(script, params) {
      const options = {
        languageOptions: language,
        queryParameters: Object.entries(params).map(([name, type]) => ({ name, type: { typeKind: KINDS[type] } })),
        errorMessageMode: 'ERROR_MESSAGE_ONE_LINE' as const,
      };
      const results: { statement: string; error: string | null }[] = [];
      // The analyzer resumes at a byte position, which a comment's non-ASCII letter moves off the string index.
      const bytes = Buffer.from(script, 'utf8');
      const text = (from: number, to = bytes.length) => bytes.subarray(from, to).toString('utf8').trim();
      let position = 0;
      while (text(position).replace(/^(--[^\n]*\n?|\s)*/, '') !== '') {
        try {
          const response = await client.analyze({
            simpleCatalog: catalog,
            parseResumeLocation: { input: script, bytePosition: position },
            options,
          });
          const next = response?.resumeBytePosition ?? bytes.length;
          results.push({ statement: text(position, next), error: null });
          if (next <= position) break;
          position = next;
        } catch (error) {
          results.push({ statement: text(position), error: (error as { details?: string }).details ?? String(error) });
          break;
        }
      }
      return results;
    },
    stop: terminateServer,
  };
}
