import type { ListOptions, Page, RequestContext } from '@polystore/core';
import { MAX_PAGES } from './op.js';

/**
 * Lists every page of a store by following `next`, as the suite's `pages` commands do.
 * Used by replay snippets.
 */
export async function listAllPages<Rec>(
  store: { list(ctx: RequestContext, options?: ListOptions<Rec>): Promise<Page<Rec>> },
  ctx: RequestContext,
  options: ListOptions<Rec> = {},
): Promise<Page<Rec>[]> {
  const pages: Page<Rec>[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await store.list(ctx, { ...options, after });
    pages.push(page);
    if (page.next === null) return pages;
    after = page.next;
  }
  throw new Error(`list: still a next page after ${MAX_PAGES} pages`);
}
