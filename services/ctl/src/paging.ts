// Follows next_page_token until enough rows are in, merging what each page says about
// unreachable nodes.
import type { UnreachableNode } from '@stompede/admin-api';

export interface Page<Row> {
  readonly rows: readonly Row[];
  /** Empty once the server has nothing more. */
  readonly nextPageToken: string;
  readonly unreachableNodes: readonly UnreachableNode[];
}

export type PageFetcher<Row> = (pageToken: string, pageSize: number) => Promise<Page<Row>>;

/** The server's default page size, and the most asked for at once. */
const MAX_PAGE_SIZE = 100;

export async function collectPages<Row>(fetchPage: PageFetcher<Row>, limit: number): Promise<Page<Row>> {
  const rows: Row[] = [];
  const unreachable = new Map<string, UnreachableNode>();
  let pageToken = '';
  do {
    const page = await fetchPage(pageToken, Math.min(MAX_PAGE_SIZE, limit - rows.length));
    rows.push(...page.rows.slice(0, limit - rows.length));
    for (const node of page.unreachableNodes) unreachable.set(node.nodeId, node);
    // A token that does not move would page forever.
    if (page.nextPageToken === pageToken) break;
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && rows.length < limit);
  return { rows, nextPageToken: pageToken, unreachableNodes: [...unreachable.values()] };
}
