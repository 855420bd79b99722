# Sourced by scripts/lib/stackClient.sh once `endpoints`, `work` and `stack` are set: when the stack
# reaches its members through a bastion (`etcd:bastion`), the operator's machine usually cannot
# reach their client port either. Then one `ssh -N` to the bastion forwards a loopback port per
# member to that member's client URL, and `endpoints` becomes those loopback URLs (each member's
# server certificate names 127.0.0.1, so TLS still checks it; the CA is the stack's).
#
# The bastion's host key is pinned as the stack pins it (`bastion.hostKey`, else its line in
# `etcd:knownHostsPath`); ssh never asks and never learns a key. The login key: ETCD_STACK_SSH_KEY,
# else the stack's bastion key (`etcd:bastionPrivateKeyPath`, its secret `etcd:bastionPrivateKey`),
# else the members' (`etcd:sshPrivateKeyPath`, the secret `etcd:sshPrivateKey`); a secret is written
# 0600 in the temporary directory. With none, ssh uses the ssh-agent (SSH_AUTH_SOCK), as the stack
# does. ETCD_STACK_DIRECT=1 skips the tunnel (a machine that reaches the members itself). The tunnel
# ends with the command.
tunnel_config() { pulumi config get --path "etcd:bastion.$1" --stack "$stack" 2>/dev/null || true; }
bastion_host=$(tunnel_config host)
if [[ -n $bastion_host && ${ETCD_STACK_DIRECT:-} != 1 ]]; then
  bastion_port=$(tunnel_config port); bastion_port=${bastion_port:-22}
  bastion_user=$(tunnel_config user); bastion_user=${bastion_user:-root}
  # known_hosts names a host on port 22 bare, on another port as [host]:port.
  kh_name=$bastion_host; [[ $bastion_port == 22 ]] || kh_name="[$bastion_host]:$bastion_port"
  key_line=$(tunnel_config hostKey)
  if [[ -n $key_line ]]; then
    echo "$kh_name $key_line" >"$work/bastion_known_hosts"
  else
    kh_file=$(pulumi config get etcd:knownHostsPath --stack "$stack" 2>/dev/null || true)
    kh_file=${kh_file/#\~/$HOME}
    [[ -n $kh_file && -r $kh_file ]] && ssh-keygen -F "$kh_name" -f "$kh_file" 2>/dev/null | grep -v '^#' >"$work/bastion_known_hosts" || true
    [[ -s $work/bastion_known_hosts ]] || die "the bastion $kh_name has no pinned host key (etcd:bastion.hostKey, or a line in etcd:knownHostsPath): not connecting to an unverified host"
  fi
  # The first key configured, in the order above: a file, or a secret written 0600 for ssh's -i.
  tunnel_key() {
    local key_path
    if key_path=$(pulumi config get "etcd:$1Path" --stack "$stack" 2>/dev/null) && [[ -n $key_path ]]; then
      ssh_key=(-i "${key_path/#\~/$HOME}" -o IdentitiesOnly=yes)
    elif (umask 077 && pulumi config get "etcd:$1" --stack "$stack" >"$work/$1" 2>/dev/null) && [[ -s $work/$1 ]]; then
      ssh_key=(-i "$work/$1" -o IdentitiesOnly=yes)
    else
      return 1
    fi
  }
  ssh_key=()
  if [[ -n ${ETCD_STACK_SSH_KEY:-} ]]; then
    ssh_key=(-i "$ETCD_STACK_SSH_KEY" -o IdentitiesOnly=yes)
  elif ! tunnel_key bastionPrivateKey && ! tunnel_key sshPrivateKey && [[ -z ${SSH_AUTH_SOCK:-} ]]; then
    die "no key for the bastion: set ETCD_STACK_SSH_KEY, etcd:bastionPrivateKey(Path) or etcd:sshPrivateKey(Path), or run an ssh-agent holding it (SSH_AUTH_SOCK)"
  fi
  # A free loopback port per member (the kernel's choice), then one ssh forwarding all of them.
  read -r -a ports <<<"$(node -e '
    const net = require("net"); const n = Number(process.argv[1]); const servers = [];
    const next = () => servers.length === n ? (console.log(servers.map((s) => s.address().port).join(" ")), servers.forEach((s) => s.close()))
      : servers.push(net.createServer().listen(0, "127.0.0.1", next));
    next();' "$(tr ',' '\n' <<<"$endpoints" | grep -c .)")"
  forwards=() tunneled=() i=0
  for ep in ${endpoints//,/ }; do
    target=${ep#https://}
    forwards+=(-L "127.0.0.1:${ports[$i]}:$target")
    tunneled+=("https://127.0.0.1:${ports[$i]}")
    i=$((i + 1))
  done
  ssh -N -p "$bastion_port" "${ssh_key[@]}" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$work/bastion_known_hosts" -o GlobalKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes \
    -o ConnectTimeout=10 -o ServerAliveInterval=10 "${forwards[@]}" "$bastion_user@$bastion_host" 2>"$work/tunnel.log" &
  tunnel_pid=$!
  trap 'kill "$tunnel_pid" 2>/dev/null; rm -rf "$work"' EXIT
  # Ready when every local port accepts; the ssh exits at once on a refused key or a forward it cannot make.
  for _ in $(seq 100); do
    kill -0 "$tunnel_pid" 2>/dev/null || die "the tunnel through the bastion $bastion_user@$kh_name failed: $(tail -n 3 "$work/tunnel.log")"
    up=0; for p in "${ports[@]}"; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && up=$((up + 1)); done
    ((up == ${#ports[@]})) && break
    sleep 0.2
  done
  ((up == ${#ports[@]})) || die "the tunnel through the bastion $bastion_user@$kh_name did not open within 20 s"
  echo "through the bastion $bastion_user@$kh_name: $(paste -d' ' <(tr ',' '\n' <<<"$endpoints") <(printf '%s\n' "${tunneled[@]}") | awk '{ printf "%s%s -> %s", sep, $2, $1; sep = ", " }')" >&2
  endpoints=$(IFS=,; echo "${tunneled[*]}")
fi
