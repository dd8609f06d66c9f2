import { HubError } from './errors.js';

/** Where a request was going, for error messages. */
export interface RequestContext {
  endpoint: string;
  repo: string;
  revision?: string;
  path?: string;
  token: string | undefined;
}

/**
 * Turns a hub answer (status plus the X-Error-Code header that the hub sets,
 * as huggingface_hub's hf_raise_for_status reads it) into a HubError that says
 * what to do.
 */
export function hubErrorFromStatus(
  status: number,
  errorCode: string | null | undefined,
  serverMessage: string,
  ctx: RequestContext,
): HubError {
  const page = `${ctx.endpoint}/${ctx.repo}`;
  const where = `${ctx.repo}${ctx.revision ? `@${ctx.revision}` : ''}`;
  const details = {
    repo: ctx.repo,
    revision: ctx.revision,
    path: ctx.path,
    status,
    errorCode: errorCode ?? undefined,
    serverMessage: serverMessage || undefined,
  };
  const gated = errorCode === 'GatedRepo' || /restricted|gated/i.test(serverMessage);
  if ((status === 401 || status === 403) && gated) {
    const why = ctx.token ? 'this token has not been granted access' : 'no token was given';
    return new HubError('GATED', `${ctx.repo} is a gated model and ${why} (HTTP ${status}).`, {
      hint: `Accept the license at ${page} while logged in, then set HF_TOKEN (or pass --token) to a token of that account.`,
      details,
    });
  }
  if (status === 401) {
    return ctx.token
      ? new HubError(
          'UNAUTHORIZED',
          `The hub refused the token for ${ctx.repo} (HTTP 401): the repo is private to another account, or it does not exist.`,
          {
            hint: 'Check the model id, and that HF_TOKEN (or --token) is a valid read token of an account that can see the repo.',
            details,
          },
        )
      : new HubError(
          'UNAUTHORIZED',
          `${ctx.repo} needs authentication (HTTP 401): it is private, or it does not exist.`,
          {
            hint: 'Check the model id; for a private repo set HF_TOKEN (or pass --token) to a read token from https://huggingface.co/settings/tokens.',
            details,
          },
        );
  }
  if (status === 403) {
    return new HubError(
      'FORBIDDEN',
      `The hub denied access to ${where} (HTTP 403)${serverMessage ? `: ${serverMessage}` : ''}.`,
      {
        hint: `Check that your token may read ${page}.`,
        details,
      },
    );
  }
  if (status === 404) {
    if (errorCode === 'RevisionNotFound') {
      return new HubError('REVISION_NOT_FOUND', `${ctx.repo} has no revision "${ctx.revision}".`, {
        hint: `Pass a branch, tag or commit that exists (see ${page}/tree/main); the default is main.`,
        details,
      });
    }
    if (errorCode === 'EntryNotFound' || (ctx.path && errorCode !== 'RepoNotFound')) {
      return new HubError('FILE_NOT_FOUND', `${where} has no file "${ctx.path}".`, {
        hint: `List the repo's files at ${page}/tree/${ctx.revision ?? 'main'}.`,
        details,
      });
    }
    return new HubError('REPO_NOT_FOUND', `The model ${ctx.repo} was not found on ${ctx.endpoint}.`, {
      hint: ctx.token
        ? 'Check the model id (org/name, as in the model page URL).'
        : 'Check the model id; if the repo is private, set HF_TOKEN or pass --token.',
      details,
    });
  }
  const retry = status === 429 || status >= 500;
  return new HubError(
    'BAD_RESPONSE',
    `The hub answered HTTP ${status} for ${where}${ctx.path ? ` ${ctx.path}` : ''}${serverMessage ? `: ${serverMessage}` : ''}.`,
    {
      hint: retry
        ? 'The hub is busy or failing; try again in a moment.'
        : 'Check HF_ENDPOINT points at a Hugging Face hub.',
      details,
    },
  );
}

/** Wraps an error from fetch or from @huggingface/hub into a HubError, unless it is one already. */
export function toHubError(
  error: unknown,
  ctx: RequestContext,
  lastErrorCode?: string | null,
  signal?: AbortSignal,
): HubError {
  if (error instanceof HubError) return error;
  if ((error as Error | undefined)?.name === 'TimeoutError' && !signal?.aborted) {
    return new HubError('NETWORK', `The hub at ${ctx.endpoint} did not answer in time about ${ctx.repo}.`, {
      cause: error,
      hint: 'Check the network, or raise HF_HUB_DOWNLOAD_TIMEOUT (seconds); HF_HUB_OFFLINE=1 works from the cache.',
      details: { repo: ctx.repo, endpoint: ctx.endpoint, reason: 'timeout' },
    });
  }
  if (signal?.aborted || (error as Error | undefined)?.name === 'AbortError') {
    return new HubError('ABORTED', `Stopped talking to the hub about ${ctx.repo}: interrupted.`, {
      cause: error,
      details: { repo: ctx.repo },
    });
  }
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number') {
    const data = (error as { data?: { error?: unknown; message?: unknown } }).data;
    const serverMessage = [data?.error, data?.message].find((m) => typeof m === 'string') ?? '';
    const mapped = hubErrorFromStatus(status, lastErrorCode, serverMessage, ctx);
    return new HubError(mapped.code, mapped.message, {
      cause: error,
      hint: mapped.hint,
      details: mapped.details,
    });
  }
  if (
    (error as Error | undefined)?.name === 'InvalidApiResponseFormatError' ||
    error instanceof SyntaxError
  ) {
    return new HubError(
      'BAD_RESPONSE',
      `The hub at ${ctx.endpoint} answered in an unexpected format: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'Check HF_ENDPOINT points at a Hugging Face hub.',
        details: { repo: ctx.repo, endpoint: ctx.endpoint },
      },
    );
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
  return new HubError('NETWORK', `Could not reach the hub at ${ctx.endpoint} (${reason}).`, {
    cause: error,
    hint: 'Check the network and HF_ENDPOINT, or use HF_HUB_OFFLINE=1 to work from the cache.',
    details: { repo: ctx.repo, endpoint: ctx.endpoint, reason },
  });
}
