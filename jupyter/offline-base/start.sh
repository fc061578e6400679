#!/bin/bash
# The offline base's entrypoint (under tini): start.sh [COMMAND [ARGS...]], bash by default.
# What it does is Jupyter Docker Stacks' documented start-up (docs/using/common.md):
#  1. runs the hooks in /usr/local/bin/start-notebook.d, as the user the container started as;
#  2. started as root: makes the notebook user what NB_USER, NB_UID, NB_GID and NB_GROUP
#     say (renaming jovyan, moving its home), chowns its home (CHOWN_HOME=1|yes, with
#     CHOWN_HOME_OPTS) and the comma-separated CHOWN_EXTRA folders (CHOWN_EXTRA_OPTS),
#     grants passwordless sudo (GRANT_SUDO=1|yes), puts /opt/conda/bin first on sudo's
#     secure_path, runs the before-notebook.d hooks as root, then runs the command as
#     NB_USER (or as root itself for NB_USER=root NB_UID=0 NB_GID=0, with HOME=/home/root);
#  3. started as another user: gives that uid a passwd entry if it has none (when
#     /etc/passwd is writable, i.e. with gid 0), warns about what only root could have
#     done, runs the before-notebook.d hooks, then runs the command;
#  4. unsets the variables named in JUPYTER_ENV_VARS_TO_UNSET (comma-separated) first.
# It configures once: started again from within (`start.sh start.sh ...`) it only warns
# and runs its command, so every hook runs exactly once.
set -e

source /usr/local/bin/_docker_stacks_log.sh
_log_info "Entered start.sh with args:" "$@"

if [ $# -eq 0 ]; then
  set -- bash
fi

if [ "${_START_SH_EXECUTED:-}" = 1 ]; then
  _log_warn "start.sh is the default ENTRYPOINT, do not include it in CMD"
  _log_info "Executing the command:" "$@"
  exec "$@"
fi
export _START_SH_EXECUTED=1

yes_or_1() { [ "$1" = 1 ] || [ "$1" = yes ]; }

unset_listed_variables() {
  local name
  [ -n "${JUPYTER_ENV_VARS_TO_UNSET:-}" ] || return 0
  for name in ${JUPYTER_ENV_VARS_TO_UNSET//,/ }; do
    _log_info "Unset $name due to JUPYTER_ENV_VARS_TO_UNSET"
    unset "$name"
  done
  unset JUPYTER_ENV_VARS_TO_UNSET
}

source /usr/local/bin/run-hooks.sh /usr/local/bin/start-notebook.d

NB_USER=${NB_USER:-jovyan}
NB_UID=${NB_UID:-1000}
NB_GID=${NB_GID:-100}
run_as_root=
[ "$NB_USER" = root ] && [ "$NB_UID" = 0 ] && [ "$NB_GID" = 0 ] && run_as_root=1

if [ "$(id -u)" = 0 ]; then
  # The notebook user: jovyan renamed, or a user an earlier start already made.
  if [ "$NB_USER" != jovyan ] && id jovyan >/dev/null 2>&1 && ! id "$NB_USER" >/dev/null 2>&1; then
    usermod --login "$NB_USER" --home "/home/$NB_USER" jovyan
    _log_info "Updated the jovyan user:"
    _log_info "- username: jovyan       -> $NB_USER"
    _log_info "- home dir: /home/jovyan -> /home/$NB_USER"
  elif ! id "$NB_USER" >/dev/null 2>&1; then
    _log_fatal "Neither the jovyan user nor '$NB_USER' exists. This could be the result of stopping and starting, the container with a different NB_USER environment variable."
  fi

  if [ "$NB_UID" != "$(id -u "$NB_USER")" ] || [ "$NB_GID" != "$(id -g "$NB_USER")" ]; then
    _log_info "Update $NB_USER's UID:GID to $NB_UID:$NB_GID"
    if [ "$NB_GID" != "$(id -g "$NB_USER")" ]; then
      groupadd --force --non-unique --gid "$NB_GID" "${NB_GROUP:-$NB_USER}"
    fi
    userdel "$NB_USER"
    useradd --no-log-init --home "/home/$NB_USER" --shell /bin/bash \
      --uid "$NB_UID" --gid "$NB_GID" --groups 100 "$NB_USER"
  fi

  copy_options=(-a)
  if [ -n "$run_as_root" ]; then
    # root's home becomes /home/root, like every other notebook user's.
    sed -i 's|^root:\([^:]*\):0:0:\([^:]*\):/root:|root:\1:0:0:\2:/home/root:|' /etc/passwd
    copy_options=(-a --no-preserve=ownership)
  fi

  if [ "$NB_USER" != jovyan ]; then
    home="/home/$NB_USER"
    if [ ! -e "$home" ]; then
      _log_info "Attempting to copy /home/jovyan to $home..."
      mkdir "$home"
      if cp "${copy_options[@]}" /home/jovyan/. "$home/"; then
        _log_info "Success!"
      else
        _log_info "Failed to copy data from /home/jovyan to $home!"
        _log_info "Attempting to symlink /home/jovyan to $home..."
        rmdir "$home" 2>/dev/null || true
        if ln -s /home/jovyan "$home"; then
          _log_info "Success creating symlink!"
        else
          _log_fatal "Failed copy data from /home/jovyan to $home or to create symlink!"
        fi
      fi
    fi
    case "$PWD/" in
      /home/jovyan/*)
        _log_info "Changing working directory to $home/${PWD#/home/jovyan}"
        cd "$home/${PWD#/home/jovyan}"
        ;;
    esac
  fi

  if yes_or_1 "${CHOWN_HOME:-}"; then
    _log_info "Ensuring /home/$NB_USER is owned by $NB_UID:$NB_GID ${CHOWN_HOME_OPTS:+(chown options: $CHOWN_HOME_OPTS)}"
    # shellcheck disable=SC2086 # the options are words
    chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" "/home/$NB_USER"
  fi
  if [ -n "${CHOWN_EXTRA:-}" ]; then
    for folder in ${CHOWN_EXTRA//,/ }; do
      _log_info "Ensuring $folder is owned by $NB_UID:$NB_GID ${CHOWN_EXTRA_OPTS:+(chown options: $CHOWN_EXTRA_OPTS)}"
      # shellcheck disable=SC2086
      chown ${CHOWN_EXTRA_OPTS:-} "$NB_UID:$NB_GID" "$folder"
    done
  fi

  # sudo finds commands on its secure_path only: Python's folder goes first there.
  secure_path=$(sed -n 's/^Defaults[[:space:]]*secure_path[[:space:]]*=[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/sudoers | tail -1)
  echo "Defaults secure_path=\"${CONDA_DIR:-/opt/conda}/bin:${secure_path:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}\"" >/etc/sudoers.d/path
  if yes_or_1 "${GRANT_SUDO:-}"; then
    _log_info "Granting $NB_USER passwordless sudo rights!"
    echo "$NB_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/added-by-start-script
  fi

  # Run as root, so these hooks may mount, chown and write anywhere.
  source /usr/local/bin/run-hooks.sh /usr/local/bin/before-notebook.d
  unset_listed_variables

  _log_info "Running as $NB_USER:" "$@"
  if [ -n "$run_as_root" ]; then
    HOME=/home/root exec "$@"
  fi
  exec sudo --preserve-env --set-home --user "$NB_USER" \
    LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}" PATH="$PATH" PYTHONPATH="${PYTHONPATH:-}" "$@"
fi

# Not root: only warn about what would have needed root.
yes_or_1 "${GRANT_SUDO:-}" && _log_warn "container must be started as root to grant sudo permissions!"

jovyan_uid=$(id -u jovyan 2>/dev/null || true)
jovyan_gid=$(id -g jovyan 2>/dev/null || true)
if ! whoami >/dev/null 2>&1; then
  _log_info "There is no entry in /etc/passwd for our UID=$(id -u). Attempting to fix..."
  if [ -w /etc/passwd ]; then
    _log_info "Renaming old jovyan user to nayvoj ($jovyan_uid:$jovyan_gid)"
    # /etc is not ours to write temporary files into: edit a copy, write it back.
    sed 's/^jovyan:/nayvoj:/' /etc/passwd >/tmp/passwd.start
    echo "$NB_USER:x:$(id -u):$(id -g):,,,:/home/jovyan:/bin/bash" >>/tmp/passwd.start
    cat /tmp/passwd.start >/etc/passwd
    rm -f /tmp/passwd.start
    _log_info "Added new $NB_USER user ($(id -u):$(id -g)). Fixed UID!"
    [ "$NB_USER" = jovyan ] ||
      _log_warn "user is $NB_USER but home is /home/jovyan. You must run as root to rename the home directory!"
  else
    _log_warn "unable to fix missing /etc/passwd entry because we don't have write permission. Try setting gid=0 with \"--user=$(id -u):0\"."
  fi
fi

if [ "$NB_USER" != jovyan ] && [ "$NB_USER" != "$(id -un)" ]; then
  _log_warn "container must be started as root to change the desired user's name with NB_USER=\"$NB_USER\"!"
fi
if [ "$NB_UID" != "$jovyan_uid" ] && [ "$NB_UID" != "$(id -u)" ]; then
  _log_warn "container must be started as root to change the desired user's id with NB_UID=\"$NB_UID\"!"
fi
if [ "$NB_GID" != "$jovyan_gid" ] && [ "$NB_GID" != "$(id -g)" ]; then
  _log_warn "container must be started as root to change the desired user's group id with NB_GID=\"$NB_GID\"!"
fi
[ -w /home/jovyan ] ||
  _log_warn "no write access to /home/jovyan. Try starting the container with group 'users' (100), e.g. using \"--group-add=users\"."

source /usr/local/bin/run-hooks.sh /usr/local/bin/before-notebook.d
unset_listed_variables

_log_info "Executing the command:" "$@"
exec "$@"
