/**
 * GitHub webhook events → one-line `/md` messages with links (issue 15, docs/formats.md#github).
 *
 * Shown: `push` (commits, new and deleted branches and tags), `pull_request` (opened, reopened,
 * closed or merged, ready for review), `issues` (opened, closed, reopened), `workflow_run` (a run
 * that completed with failure, timed_out or startup_failure) and `release` (published). `ping` and
 * every other event or action answer 200 with a note and post nothing.
 *
 * Everything in these messages that people outside the room wrote (titles, commit messages, branch
 * and user names) is shown as text: Markdown in it is escaped and an `@name` in it mentions nobody,
 * so an issue titled "@all look" alerts no one.
 */
import { code, inline, isHttpUrl, link, mdMessage, str } from '../markdown.js';
import { type Outcome, arr, invalidPayload, obj } from '../types.js';

const TEXT = { mentions: false };

const ignore = (note: string): Outcome => ({ kind: 'ignore', note });
const post = (body: string): Outcome => ({ kind: 'post', content: mdMessage(body) });

/** The first line of a (commit) message, at most 100 characters. */
function firstLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0] ?? '';
  return Array.from(line).length > 100 ? `${Array.from(line).slice(0, 99).join('')}…` : line;
}

function repoLink(p: Record<string, unknown>): string {
  const repo = obj(p.repository);
  if (!repo) return 'a repository';
  return link(str(repo.full_name) || str(repo.name), repo.html_url, TEXT);
}

function who(p: Record<string, unknown>): string {
  const login = str(obj(p.sender)?.login) || str(obj(p.pusher)?.name);
  return login ? `**${inline(login, TEXT)}**` : 'Someone';
}

function push(p: Record<string, unknown>): Outcome {
  const ref = str(p.ref);
  const tag = ref.startsWith('refs/tags/');
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const kind = tag ? 'tag' : 'branch';
  const user = who(p);
  const repo = repoLink(p);
  if (p.deleted === true) return post(`:wastebasket: ${user} deleted ${kind} ${code(name)} in ${repo}`);
  const commits = arr(p.commits).map(obj).filter((c): c is Record<string, unknown> => c !== undefined);
  if (tag) return post(`:label: ${user} pushed tag ${code(name)} to ${repo}`);
  if (p.created === true && commits.length === 0) return post(`:seedling: ${user} created branch ${code(name)} in ${repo}`);
  const n = commits.length;
  const verb = p.forced === true ? 'force-pushed' : 'pushed';
  let head = `:arrow_up: ${user} ${verb} ${n} commit${n === 1 ? '' : 's'} to ${code(name)} in ${repo}`;
  if (isHttpUrl(p.compare)) head += ` (${link('compare', p.compare)})`;
  const lines = commits.slice(0, 5).map((c) => {
    const sha = str(c.id).slice(0, 7);
    const author = str(obj(c.author)?.username) || str(obj(c.author)?.name);
    return `- ${isHttpUrl(c.url) ? `[${code(sha)}](${str(c.url)})` : code(sha)} ${inline(firstLine(str(c.message)), TEXT)}${author ? ` (${inline(author, TEXT)})` : ''}`;
  });
  if (n > 5) lines.push(`- …and ${n - 5} more`);
  return post([head, ...lines].join('\n'));
}

function pullRequest(p: Record<string, unknown>): Outcome {
  const action = str(p.action);
  const pr = obj(p.pull_request) ?? {};
  const merged = pr.merged === true;
  const verbs: Record<string, [string, string]> = {
    opened: [':twisted_rightwards_arrows:', pr.draft === true ? 'opened draft pull request' : 'opened pull request'],
    reopened: [':twisted_rightwards_arrows:', 'reopened pull request'],
    closed: merged ? [':tada:', 'merged pull request'] : [':no_entry_sign:', 'closed pull request'],
    ready_for_review: [':eyes:', 'marked pull request ready for review'],
  };
  const v = verbs[action];
  if (!v) return ignore(`GitHub pull_request "${action}" is not shown (only opened, reopened, closed and ready_for_review are); nothing was posted.`);
  const title = `#${str(pr.number ?? p.number)} ${firstLine(str(pr.title))}`;
  const head = str(obj(pr.head)?.ref);
  const base = str(obj(pr.base)?.ref);
  const branches = head && base && action === 'opened' ? ` (${code(head)} → ${code(base)})` : '';
  return post(`${v[0]} ${who(p)} ${v[1]} ${link(title, pr.html_url, TEXT)} in ${repoLink(p)}${branches}`);
}

function issues(p: Record<string, unknown>): Outcome {
  const action = str(p.action);
  const issue = obj(p.issue) ?? {};
  const verbs: Record<string, [string, string]> = {
    opened: [':memo:', 'opened issue'],
    reopened: [':memo:', 'reopened issue'],
    closed: [':heavy_check_mark:', issue.state_reason === 'not_planned' ? 'closed issue (not planned)' : 'closed issue'],
  };
  const v = verbs[action];
  if (!v) return ignore(`GitHub issues "${action}" is not shown (only opened, closed and reopened are); nothing was posted.`);
  const title = `#${str(issue.number)} ${firstLine(str(issue.title))}`;
  return post(`${v[0]} ${who(p)} ${v[1]} ${link(title, issue.html_url, TEXT)} in ${repoLink(p)}`);
}

const FAILED = new Set(['failure', 'timed_out', 'startup_failure']);

function workflowRun(p: Record<string, unknown>): Outcome {
  const run = obj(p.workflow_run) ?? {};
  const conclusion = str(run.conclusion);
  if (str(p.action) !== 'completed' || !FAILED.has(conclusion)) {
    return ignore(`GitHub workflow_run "${str(p.action)}"${conclusion ? ` (${conclusion})` : ''} is not shown (only completed runs that failed are); nothing was posted.`);
  }
  const name = str(run.name) || str(obj(p.workflow)?.name) || 'Workflow';
  const what = conclusion === 'timed_out' ? 'timed out' : conclusion === 'startup_failure' ? 'failed to start' : 'failed';
  const branch = str(run.head_branch);
  const runLabel = `run #${str(run.run_number) || str(run.id)}`;
  let line = `:x: Workflow **${inline(name, TEXT)}** ${what}${branch ? ` on ${code(branch)}` : ''} in ${repoLink(p)}: ${link(runLabel, run.html_url)}`;
  const commit = firstLine(str(obj(run.head_commit)?.message));
  if (commit) line += ` · ${inline(commit, TEXT)}`;
  const actor = str(obj(run.triggering_actor)?.login) || str(obj(run.actor)?.login);
  if (actor) line += ` · by ${inline(actor, TEXT)}`;
  return post(line);
}

function release(p: Record<string, unknown>): Outcome {
  const action = str(p.action);
  if (action !== 'published') return ignore(`GitHub release "${action}" is not shown (only published is); nothing was posted.`);
  const r = obj(p.release) ?? {};
  const name = str(r.name) || str(r.tag_name);
  const pre = r.prerelease === true ? ' (pre-release)' : '';
  return post(`:rocket: ${who(p)} published release ${link(name, r.html_url, TEXT)}${pre} in ${repoLink(p)}`);
}

export const SHOWN_EVENTS = ['push', 'pull_request', 'issues', 'workflow_run', 'release'] as const;

/** One delivery (its X-GitHub-Event and parsed JSON) → the message, or a note. */
export function translateGitHub(event: string, p: Record<string, unknown>): Outcome {
  switch (event) {
    case 'ping':
      return ignore('GitHub ping received: this webhook works and its signature is right; nothing was posted.');
    case 'push':
      return push(p);
    case 'pull_request':
      return pullRequest(p);
    case 'issues':
      return issues(p);
    case 'workflow_run':
      return workflowRun(p);
    case 'release':
      return release(p);
    case '':
      throw invalidPayload('The X-GitHub-Event header is missing: this URL takes GitHub webhook deliveries (docs/formats.md).');
    default:
      return ignore(`GitHub event "${event.slice(0, 50)}" is not shown (shown: ${SHOWN_EVENTS.join(', ')}); nothing was posted.`);
  }
}
