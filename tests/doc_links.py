#!/usr/bin/env python3
"""Every Markdown file of the project points only at files that exist:
doc_links.py SOURCE_DIR

Checked in each *.md (build folders, dist/ and .git left out), outside
fenced code blocks:
- relative links and images, [text](path) and [text](path#anchor): the
  path must exist (relative to the file), and an anchor into a Markdown
  file must be one of its headings (GitHub's rule for heading ids);
- file names in backticks or plain text that end in .md, and backticked
  paths under docs/: the file must exist, relative to the file or to the
  project's top (wildcards and placeholders such as NAME are skipped).
Prints FILE:LINE: what is missing, for each, and exits 1 if any."""
import os
import re
import sys

SKIP_DIRS = {".git", "dist", "node_modules", "__pycache__"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TICK = re.compile(r"`([^`\s]+)`")
BARE_MD = re.compile(r"(?<![\w./`-])([\w./-]*[\w-]\.md)\b(?![`\w/-])")


def markdown_files(top):
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs
                         if d not in SKIP_DIRS and not d.startswith("build"))
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(root, f)


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    fence = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            m = re.match(r"(`{3,}|~{3,})", s)
            if m:
                if fence is None:
                    fence = m.group(1)[0]
                elif s[0] == fence:
                    fence = None
                continue
            if fence is None:
                yield n, line.rstrip("\n")


def slug(text, seen):
    """GitHub's id for a heading."""
    s = re.sub(r"[^\w\- ]", "", text.strip().lower(), flags=re.UNICODE)
    s = s.replace(" ", "-")
    n = seen.get(s, 0)
    seen[s] = n + 1
    return s if n == 0 else "%s-%d" % (s, n)


ANCHORS = {}


def anchors(path):
    if path not in ANCHORS:
        seen, ids = {}, set()
        for _, line in prose_lines(path):
            m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                ids.add(slug(m.group(1), seen))
        ANCHORS[path] = ids
    return ANCHORS[path]


def skippable(ref):
    """A pattern or a placeholder (docs/*.md, scenarios/NAME/...)."""
    if "..." in ref or any(c in ref for c in "*?{}<>$%"):
        return True
    return any(re.fullmatch(r"[A-Z][A-Z0-9_]*", d)
               for d in ref.split("/")[:-1])


def exists(top, here, ref):
    for base in (os.path.dirname(here), top):
        if os.path.exists(os.path.normpath(os.path.join(base, ref))):
            return True
    return False


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = []
    nfiles = nrefs = 0
    for path in markdown_files(top):
        nfiles += 1
        rel = os.path.relpath(path, top)
        for n, line in prose_lines(path):
            code_free = re.sub(r"`[^`]*`", "", line)
            for m in LINK.finditer(code_free):
                target = m.group(1)
                if re.match(r"[a-z][a-z0-9+.-]*:", target):
                    continue                      # http:, mailto: ...
                nrefs += 1
                file_part, _, anchor = target.partition("#")
                dest = (os.path.normpath(os.path.join(os.path.dirname(path),
                                                      file_part))
                        if file_part else path)
                if not os.path.exists(dest):
                    problems.append("%s:%d: link to %s, which does not "
                                    "exist" % (rel, n, file_part))
                elif (anchor and dest.endswith(".md") and
                      anchor not in anchors(dest)):
                    problems.append("%s:%d: link to %s#%s: no such heading"
                                    % (rel, n, file_part or rel, anchor))
            refs = []
            for m in TICK.finditer(line):
                ref = m.group(1).rstrip(".,;:")
                if (re.fullmatch(r"[\w./-]*[\w-]\.md", ref) or
                        ref.startswith("docs/")):
                    refs.append(ref)
            for m in BARE_MD.finditer(LINK.sub("", code_free)):
                refs.append(m.group(1))
            for ref in refs:
                if skippable(ref):
                    continue
                nrefs += 1
                if not exists(top, path, ref):
                    problems.append("%s:%d: names %s, which does not exist"
                                    % (rel, n, ref))
    for p in problems:
        print(p)
    if problems:
        print("doc links: %d problem(s) in %d Markdown files"
              % (len(problems), nfiles))
        return 1
    print("doc links: %d Markdown files, %d references, all there"
          % (nfiles, nrefs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
