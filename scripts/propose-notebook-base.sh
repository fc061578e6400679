#!/usr/bin/env bash
# Propose the images' moved bases as a pull request: scripts/propose-notebook-base.sh TAG
# (TAG: the notebook base's date tag; the hub's and the proxy's bases may have moved to new digests).
# Run by .github/workflows/notebook-base.yml once the image built and passed the image
# tier on that base; needs GH_TOKEN (the workflow's token, allowed to open pull requests).
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: $0 YYYY-MM-DD}
# One branch per set of pins: a later move of a digest alone is a pull request of its own.
pins=$(grep -h -E '^ARG (BASE_IMAGE|HUB_BASE_IMAGE|PROXY_BASE_IMAGE)=' jupyter/Dockerfile hub/Dockerfile proxy/Dockerfile)
branch=notebook-base/$tag-$(printf '%s' "$pins" | sha256sum | cut -c1-8)
if gh pr list --head "$branch" --state all --json number --jq '.[].number' | grep -q .; then
  echo "A pull request for $branch exists already"
  exit 0
fi
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
git switch --create "$branch"
git commit --quiet --message "Bases: datascience-notebook $tag, by digest" -- jupyter/Dockerfile hub/Dockerfile proxy/Dockerfile
git push --quiet origin "$branch"
gh pr create --head "$branch" --title "Notebook image: datascience-notebook $tag" --body \
  "Pins the notebook image's base to \`quay.io/jupyter/datascience-notebook:$tag\`, the newest date tag \
Jupyter Docker Stacks published, and the three bases (notebook, hub, proxy) to the digests quay.io gives their tags (a tag that moved \
shows here as a new digest). The weekly workflow built the image on it and ran the image tier \
before opening this. Pull requests opened with the workflow's token start no workflow of their own: \
close and reopen this one to run CI on it."
