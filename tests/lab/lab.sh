#!/usr/bin/env bash
# The lab: 3 to 7 real Debian hosts (systemd as PID 1, sshd on port 22) as systemd-nspawn
# containers on the bridge etcdlab0, 10.213.0.0/24, matching stacks/Pulumi.lab.yaml:
# lab1 = 10.213.0.11, lab2 = 10.213.0.12, ... Each host runs Debian 12 (bookworm) unless `up` gives
# it another release: 11 (bullseye) or 13 (trixie), each from a base rootfs of its own (issue 30).
# See /work/shared/notes/lab.md for why it is built this way (no systemd on the VM, cgroup v1).
#
#   lab.sh install-deps | base [RELEASE...|all] | up [N] [HOST=RELEASE...] | down | status | hosts | ip HOST | ssh HOST [CMD...]
#   lab.sh release HOST                # the release a host was made from
#   lab.sh stop|start|crash|reboot|freeze|thaw|link-down|link-up|impostor|sshd-stop|sshd-start|clock-behind|clock-fix HOST   (clock-behind HOST [3h|7m|90s])
#   lab.sh drop-peer HOST FROMHOST [PORT] | undrop-peer HOST  # nftables in HOST's netns: drop TCP to PORT (2380) from FROMHOST
#   lab.sh slow-disk HOST [WRITE_IOPS] | fast-disk HOST         # blkio throttle on HOST's writes to the lab's disk (20 IOPS)
#   lab.sh known-hosts                 # rewrite .lab/ssh/known_hosts from the hosts' own keys
#   ETCD_STACK_LAB_LANE=2 lab.sh …     # a second lab, same names and addresses, in a netns of its own
#                                      # (3 and 4: more, for long chaos runs beside the test lanes)
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
CACHE=${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}/lab
# One base rootfs per Debian release, $CACHE/<release>-base-3 (the suffix changes with the package
# list below); bookworm's is the one every lab used before issue 30, at the same path.
RELEASES=(bullseye bookworm trixie)
DEFAULT_RELEASE=bookworm
base_dir() { echo "$CACHE/$1-base-3"; }
valid_release() { [[ " ${RELEASES[*]} " == *" $1 "* ]] || die "unknown release '$1' (${RELEASES[*]})"; }
# Debian 13's systemd (257) deprecates cgroup v1: it boots on this VM's hybrid hierarchy only as a
# container ("System is tainted: cgroupsv1"), and refuses to where it mounts the hierarchies itself.
# A trixie host gets the unified hierarchy (cgroup v2 only) from nspawn, as a real Debian 13 host
# has it; bullseye and bookworm keep the VM's hybrid layout, as every lab host had before.
nspawn_unified() { [[ $1 == trixie ]]; }
# Lanes (issue 26): lane 2 is a second lab with the same host names, addresses and subnet, whose
# bridge lives in a network namespace of its own (etcdlab-lane2) instead of the VM's, so two test
# processes can each drive a lab at once. A process reaches lane 2's hosts by running in that
# namespace (scripts/test.sh: nsenter --net); everything else of a lane is its own (state, host
# netns, veth and cgroup names, known_hosts, lock). The base rootfs and the lab key are shared.
LANE=${ETCD_STACK_LAB_LANE:-1}
[[ $LANE =~ ^[1-6]$ ]] || { echo "lab: ETCD_STACK_LAB_LANE must be 1 to 6, not '$LANE'" >&2; exit 1; }
KEY=$REPO/.lab/ssh/id_ed25519
if [[ $LANE == 1 ]]; then
  STATE=/var/lib/etcd-stack-lab          # runtime state: overlays, pid files, console logs
  SSH_DIR=$REPO/.lab/ssh
  PREFIX=etcdlab-                        # netns, bridge-side veth and cgroup names: etcdlab-<host>
  LANE_NS=""
  LOCK_FILE=/run/etcd-stack-lab.lock
else
  STATE=/var/lib/etcd-stack-lab-lane$LANE
  SSH_DIR=$REPO/.lab/lane$LANE/ssh
  PREFIX=etcdl$LANE-
  LANE_NS=etcdlab-lane$LANE
  LOCK_FILE=/run/etcd-stack-lab-lane$LANE.lock
fi
SSH_CONFIG=$SSH_DIR/config
BRIDGE=etcdlab0
NET=10.213.0
CGROUP_HIERARCHIES=(systemd unified freezer blkio)  # blkio: slow-disk throttles a host's writes
MAX_HOSTS=7
DEPS=(debootstrap systemd-container iproute2 openssh-client nftables)

log() { printf '%s\n' "$*" >&2; }
die() { log "lab: $*"; exit 1; }
host_ip() { echo "$NET.$((10 + ${1#lab}))"; }
valid_host() { [[ $1 =~ ^lab[1-7]$ ]] || die "unknown host '$1' (lab1..lab$MAX_HOSTS)"; }
# Hosts that have any trace on this machine: state dir, netns, veth or cgroup (also from a killed run).
known_hosts() {
  { ls "$STATE" 2>/dev/null
    ip netns list 2>/dev/null | awk '{print $1}'
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1
    for h in "${CGROUP_HIERARCHIES[@]}"; do ls "/sys/fs/cgroup/$h" 2>/dev/null; done
  } | sed -n "s/^$PREFIX\(lab[1-7]\)\$/\1/p; s/^\(lab[1-7]\)\$/\1/p" | sort -u -V
}

# ---- processes: only ones our supervisor started, found by pid file or in our own cgroups ----
alive_as() { # PID COMM: is PID alive and running COMM (guards against reused pids)
  [[ -n $1 && -r /proc/$1/comm && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}
cg_pids() { # every pid in the host's systemd-hierarchy cgroup tree
  local d=/sys/fs/cgroup/systemd/$PREFIX$1
  if [[ -d $d ]]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
}
supervisor_pid() {
  local p; p=$(cat "$STATE/$1/supervisor.pid" 2>/dev/null) || return 1
  alive_as "$p" bash && grep -qa "_supervise" "/proc/$p/cmdline" && echo "$p"
}
nspawn_pid() {
  local p; p=$(cat "$STATE/$1/nspawn.pid" 2>/dev/null) || true
  if alive_as "$p" systemd-nspawn; then echo "$p"; return 0; fi
  for p in $(cg_pids "$1"); do alive_as "$p" systemd-nspawn && { echo "$p"; return 0; }; done
  return 1
}
nsenter_host() { # run a command inside a host without ssh (its sshd may be what is down)
  local p1; p1=$(host_pid1 "$1") || die "$1 is not running"; shift
  nsenter -t "$p1" -m -u -i -n -p "$@"
}
host_pid1() { # the container's init: in our cgroup, pid 1 in its own pid namespace
  local p; for p in $(cg_pids "$1"); do
    grep -Eqs '^NSpid:\s+[0-9]+(\s+[0-9]+)*\s+1$' "/proc/$p/status" && { echo "$p"; return 0; }
  done; return 1
}
wait_gone() { # PID SECONDS
  local i; for ((i = 0; i < $2 * 10; i++)); do [[ -d /proc/$1 ]] || return 0; sleep 0.1; done; return 1
}

# ---- install-deps, base rootfs, key ----
install_deps() {
  local missing=() p
  for p in "${DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && { log "lab: dependencies present"; return; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "lab: installed ${missing[*]}"
}
apt_mirror() { # the Debian mirror this VM's apt uses for bookworm (deb822 .sources or one-line lists)
  local m
  m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v RS= '
    /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t\n]|$)/ && match($0, /URIs:[ \t]*[^ \t\n]+/) {
      s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit }')
  [[ -n $m ]] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
    $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == "bookworm") { print $i; exit } }')
  echo "${m:-http://deb.debian.org/debian}"
}
umount_under() { # unmount everything mounted at or below DIR, deepest first
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
VM_NETNS=/run/netns/etcdlab-vm  # the VM's own network namespace, pinned when lane 2's is made from it
vm_netns() { # runs its arguments in the VM's network namespace, from lane 2's too (which reaches only its hosts)
  if [[ -e $VM_NETNS && $(stat -L -c %i /proc/self/ns/net) != "$(stat -L -c %i "$VM_NETNS")" ]]; then
    nsenter --net="$VM_NETNS" -- "$@"
  else "$@"; fi
}
build_base() { # RELEASE (default bookworm)
  local release=${1:-$DEFAULT_RELEASE} BASE
  valid_release "$release"; BASE=$(base_dir "$release")
  [[ -d $BASE ]] && return 0        # only ever renamed into place when complete
  # The lanes share the bases: one builds a base while the others wait (mv would nest a second copy).
  exec 8>/run/etcd-stack-lab-shared.lock; flock -w 600 8 || die "another lane is building the base rootfs"
  [[ -d $BASE ]] && { exec 8>&-; return 0; }
  local t0=$SECONDS tmp mirror; mirror=$(apt_mirror)
  mkdir -p "$CACHE"
  for tmp in "$BASE".tmp.*; do  # leftovers of a killed build (debootstrap mounts /proc, /sys)
    [[ -e $tmp ]] && { umount_under "$tmp"; rm -rf --one-file-system "$tmp"; }
  done
  tmp=$(mktemp -d "$BASE.tmp.XXXXXX")
  log "lab: building the $release base rootfs from $mirror (once, about a minute)"
  # From lane 2's test process (inside its network namespace, which reaches only its own hosts) the
  # mirror is out of reach: debootstrap runs in the VM's namespace, as from lane 1.
  vm_netns debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,curl,sudo,libfaketime \
    "$release" "$tmp" "$mirror" >"$tmp.log" 2>&1 || { tail -20 "$tmp.log" >&2; die "debootstrap of $release failed (log: $tmp.log)"; }
  chroot "$tmp" apt-get clean
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin
  # Per-host identity is added by each host's overlay, never shared from the base.
  rm -f "$tmp"/etc/ssh/ssh_host_* "$tmp/etc/hostname"
  : >"$tmp/etc/machine-id"
  [[ -e $tmp/etc/systemd/system/multi-user.target.wants/ssh.service ]] || chroot "$tmp" systemctl enable ssh >/dev/null 2>&1
  rm -f "$tmp.log"
  chmod 755 "$tmp"                  # mktemp made it 0700; it becomes every host's /
  mv "$tmp" "$BASE"
  exec 8>&-
  log "lab: $release base rootfs built in $((SECONDS - t0))s ($(du -sh "$BASE" | cut -f1))"
}
ensure_key() {
  local i
  mkdir -p "$SSH_DIR" "${KEY%/*}"; chmod 700 "$SSH_DIR" "${KEY%/*}"
  # Shared by the lanes, which may both start at once: made under a lock of its own.
  # A lock of its own, not the base's: a lane building a base holds that one for minutes (a chaos
  # run's `up 6` on another lane once waited out its 60 s on it).
  [[ -f $KEY ]] || ( flock -w 60 8 || die "the lab key's lock"; [[ -f $KEY ]] || ssh-keygen -q -t ed25519 -N '' -C etcd-stack-lab -f "$KEY" ) 8>/run/etcd-stack-lab-key.lock
  # Hosts get fresh host keys on every `up`: never record them, never prompt.
  { printf 'Host lab* %s.*\n  User root\n  Port 22\n  IdentityFile %s\n  IdentitiesOnly yes\n' "$NET" "$KEY"
    printf '  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n'
    printf '  BatchMode yes\n  ConnectTimeout 5\n  ServerAliveInterval 5\n  ServerAliveCountMax 2\n'
    for ((i = 1; i <= MAX_HOSTS; i++)); do printf 'Host lab%d\n  HostName %s\n' "$i" "$(host_ip "lab$i")"; done
  } >"$SSH_CONFIG"
}
ssh_host() { ssh -F "$SSH_CONFIG" "$@"; }
# The hosts' ed25519 keys, read from their own root filesystems (the out-of-band check a real
# operator does at the console), as a known_hosts file the lab stack pins connections with.
write_known_hosts() {
  local d h
  for d in "$STATE"/lab[1-7]; do
    h=${d##*/}
    [[ -f $d/root/etc/ssh/ssh_host_ed25519_key.pub ]] || continue
    printf '%s %s\n' "$(host_ip "$h")" "$(cut -d' ' -f1,2 "$d/root/etc/ssh/ssh_host_ed25519_key.pub")"
  done >"$SSH_DIR/known_hosts.partial"
  mv "$SSH_DIR/known_hosts.partial" "$SSH_DIR/known_hosts"
}

# ---- network ----
check_subnet() { # refuse a 10.213.0.0/24 that something other than our bridge already uses
  local used
  used=$({ ip -4 -o addr show | awk -v n="$NET." 'index($4, n) == 1 {print $2 ": address " $4}'
           ip -4 route show root "$NET.0/24"; ip -4 route show match "$NET.0/24" | grep -v '^default'
         } | grep -v "$BRIDGE" || true)
  [[ -z $used ]] || die "$NET.0/24 is already in use on this machine, not by $BRIDGE:"$'\n'"$used"
}
ensure_inotify() { # every host's systemd takes inotify instances: 128 (the default) ran out with 4 lanes up
  local have; have=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
  ((have >= 1024)) || { echo 1024 >/proc/sys/fs/inotify/max_user_instances && log "lab: fs.inotify.max_user_instances $have -> 1024"; }
}
ensure_bridge() {
  check_subnet
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}
ensure_net() { # netns + veth: eth0 inside, etcdlab-<host> on the bridge; the address is set from here
  local h=$1 ns=$PREFIX$1
  [[ -e /run/netns/$ns ]] || ip netns add "$ns"
  ip link show "$ns" >/dev/null 2>&1 || ip link add "$ns" type veth peer name eth0 netns "$ns"
  ip link set "$ns" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$(host_ip "$h")/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# ---- hosts ----
host_release() { # the release a host's overlay was made from (hosts made before issue 30: bookworm)
  cat "$STATE/$1/release" 2>/dev/null || echo "$DEFAULT_RELEASE"
}
ensure_root() { # HOST [RELEASE]: overlay over the release's base, then this host's identity (first time only)
  local h=$1 d=$STATE/$1 r=$STATE/$1/root i release
  release=${2:-$(host_release "$1")}
  mkdir -p "$d/upper" "$d/work" "$r"
  [[ -e $d/release ]] || echo "$release" >"$d/release"
  [[ $(host_release "$h") == "$release" ]] || die "$h was made from $(host_release "$h"), not $release"
  mountpoint -q "$r" || mount -t overlay overlay -o "lowerdir=$(base_dir "$release"),upperdir=$d/upper,workdir=$d/work" "$r"
  [[ -e $d/identity ]] && return 0
  tr -d - </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
  rm -f "$r"/etc/ssh/ssh_host_*
  ssh-keygen -q -A -f "$r" >/dev/null
  echo "$h" >"$r/etc/hostname"
  { printf '127.0.0.1 localhost\n::1 localhost\n'
    for ((i = 1; i <= MAX_HOSTS; i++)); do printf '%s lab%d\n' "$(host_ip "lab$i")" "$i"; done; } >"$r/etc/hosts"
  install -d -m 700 "$r/root/.ssh"
  install -m 600 "$KEY.pub" "$r/root/.ssh/authorized_keys"
  touch "$d/identity"
}
cgroups_clean() { # remove the host's cgroup dirs (children first); fails while processes remain
  local hier; for hier in "${CGROUP_HIERARCHIES[@]}"; do
    [[ -d /sys/fs/cgroup/$hier/$PREFIX$1 ]] && { find "/sys/fs/cgroup/$hier/$PREFIX$1" -depth -type d -exec rmdir {} + 2>/dev/null || true; }
  done; return 0
}
supervise() { # runs detached: own cgroups, restart nspawn on reboot (exit 133), stop otherwise
  local h=$1 d=$STATE/$1 hier rc unified=""
  nspawn_unified "$(host_release "$h")" && unified=1
  # With --keep-unit, nspawn puts the container in <own cgroup>/payload: each host needs its own.
  for hier in "${CGROUP_HIERARCHIES[@]}"; do
    [[ -e /sys/fs/cgroup/$hier/cgroup.procs ]] || continue  # a hierarchy this kernel does not mount (blkio)
    mkdir -p "/sys/fs/cgroup/$hier/$PREFIX$h"; echo $$ >"/sys/fs/cgroup/$hier/$PREFIX$h/cgroup.procs"
  done
  echo $$ >"$d/supervisor.pid"
  while :; do
    echo "== $(date -Is) starting $h ($(host_release "$h")${unified:+, cgroup v2 only})"
    # Unset for the others: nspawn then picks the hybrid layout itself (0 would mean cgroup v1 only).
    env ${unified:+SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1} systemd-nspawn --register=no --keep-unit --network-namespace-path="/run/netns/$PREFIX$h" \
      --console=read-only -b -D "$d/root" --machine="$h" </dev/null &
    echo $! >"$d/nspawn.pid"
    rc=0; wait $! || rc=$?
    rm -f "$d/nspawn.pid"
    echo "== $(date -Is) nspawn exited with $rc"
    [[ $rc -eq 133 && ! -e $d/stopping ]] || break
  done
  rm -f "$d/supervisor.pid"
}
launch() {
  local h=$1 d=$STATE/$1
  supervisor_pid "$h" >/dev/null && return 0
  # Unsupervised leftovers of a killed run: stop them, then boot again under a supervisor.
  if nspawn_pid "$h" >/dev/null || host_pid1 "$h" >/dev/null; then stop_host "$h"; fi
  cgroups_clean "$h"
  rm -f "$d/stopping"
  # setsid: the host outlives this command; 9>&-: it must not hold the lab lock.
  setsid bash "$SELF" _supervise "$h" </dev/null >>"$d/console.log" 2>&1 9>&- &
}
stop_host() { # clean shutdown: SIGTERM to nspawn; SIGKILL the host's PID 1 only if that is not enough
  local h=$1 np p1 sp
  freezer "$h" THAWED 2>/dev/null || true
  [[ -d $STATE/$h ]] && touch "$STATE/$h/stopping"
  if np=$(nspawn_pid "$h"); then
    kill -TERM "$np"
    if ! wait_gone "$np" 30; then
      log "lab: $h did not shut down in 30s; killing its PID 1"
      p1=$(host_pid1 "$h") && kill -KILL "$p1"
      wait_gone "$np" 15 || die "$h: nspawn $np still running"
    fi
  elif p1=$(host_pid1 "$h"); then  # nspawn itself was killed: only the container is left
    log "lab: $h has no nspawn; killing its PID 1"
    kill -KILL "$p1"; wait_gone "$p1" 15 || die "$h: PID 1 $p1 still running"
  fi
  if sp=$(supervisor_pid "$h"); then wait_gone "$sp" 5 || kill -TERM "$sp"; fi
  rm -f "$STATE/$h/supervisor.pid" "$STATE/$h/nspawn.pid"
}
freezer() { # HOST FROZEN|THAWED: the whole host's freezer cgroup (nspawn and container)
  local f=/sys/fs/cgroup/freezer/$PREFIX$1/freezer.state i
  [[ -e $f ]] || return 1
  echo "$2" >"$f"
  for ((i = 0; i < 100; i++)); do [[ $(cat "$f") == "$2" ]] && return 0; sleep 0.1; done
  die "$1: freezer did not reach $2"
}
# A partial partition: TCP to PORT on HOST dropped (no answer at all, as a DROP rule in a host
# firewall) when it comes from FROMHOST, by nftables in HOST's own network namespace.
FAULT_TABLE=etcdlab_fault
drop_peer() { # HOST FROMHOST PORT
  local ns=/run/netns/$PREFIX$1 have rule="ip saddr $(host_ip "$2") tcp dport $3 drop"
  [[ -e $ns ]] || die "$1 has no network namespace"
  command -v nft >/dev/null || die "nft not found: run lab.sh install-deps (nftables)"
  nsenter --net="$ns" nft add table inet $FAULT_TABLE
  nsenter --net="$ns" nft add chain inet $FAULT_TABLE input '{ type filter hook input priority 0; policy accept; }'
  have=$(nsenter --net="$ns" nft list chain inet $FAULT_TABLE input)
  grep -qF "$rule" <<<"$have" || nsenter --net="$ns" nft add rule inet $FAULT_TABLE input $rule
}
undrop_peer() { # HOST: every drop-peer rule on it gone
  local ns=/run/netns/$PREFIX$1
  [[ -e $ns ]] && command -v nft >/dev/null || return 0
  nsenter --net="$ns" nft delete table inet $FAULT_TABLE 2>/dev/null || true
}
# A slow disk: the host's writes to the disk under the lab's state dir (its rootfs overlay) limited
# to WRITE_IOPS by the cgroup v1 blkio throttle of the host's own blkio cgroup (every process of the
# host is in it from its launch, see supervise). A synchronous write then waits for its turn.
lab_disk() { # MAJ:MIN of the whole disk holding $STATE (blkio throttles disks, not partitions)
  local dev; dev=$(findmnt -n -o MAJ:MIN -T "$STATE" | tr -d ' ')
  [[ -e /sys/dev/block/$dev/partition ]] && dev=$(cat "/sys/dev/block/$dev/../dev")
  [[ -e /sys/dev/block/$dev ]] || die "$STATE is not on a block device ($dev): its writes cannot be throttled"
  echo "$dev"
}
disk_throttle() { # HOST IOPS (0: none)
  local cg=/sys/fs/cgroup/blkio/$PREFIX$1 p1 dev
  [[ -e $cg/blkio.throttle.write_iops_device ]] || { [[ $2 == 0 ]] && return 0; die "no blkio cgroup $cg (cgroup v1 blkio; hosts launched by an older lab.sh: lab.sh down, then up)"; }
  if [[ $2 != 0 ]]; then
    p1=$(host_pid1 "$1") || die "$1 is not running"
    grep -q ":blkio:/$PREFIX$1\$" "/proc/$p1/cgroup" || die "$1's processes are not in $cg (launched by an older lab.sh: lab.sh down, then up)"
  fi
  dev=$(lab_disk)
  echo "$dev $2" >"$cg/blkio.throttle.write_iops_device"
}
remove_host() { # HOST [keep-net]: everything of one host, also leftovers of a killed run
  # keep-net (a host made again from another release): its netns and veth stay, and with them its
  # eth0's MAC address, which the other hosts' neighbour caches hold (a new one left lab2 unable to
  # reach a remade lab3 for seconds).
  local h=$1 ns=$PREFIX$1 keep_net=${2:-}
  stop_host "$h"
  # nspawn leaves its lock and propagation dirs behind when /run is not a tmpfs (as here).
  mountpoint -q "$STATE/$h/root" && rm -f "/run/systemd/nspawn/locks/inode-$(stat -c %d:%i "$STATE/$h/root")"
  rmdir "/run/systemd/nspawn/propagate/$h" 2>/dev/null || true
  umount_under "$STATE/$h"
  if [[ -z $keep_net ]]; then
    ip link del "$ns" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  fi
  cgroups_clean "$h"
  [[ -d $STATE/$h ]] && rm -rf --one-file-system "${STATE:?}/$h"
  return 0
}
boot_id() { ssh_host "$1" cat /proc/sys/kernel/random/boot_id </dev/null 2>/dev/null || true; }
wait_ssh() { # HOST DEADLINE [NOT_BOOT_ID]: until sshd answers (with a boot id other than NOT_BOOT_ID)
  local end=$2 id
  while ((SECONDS < end)); do
    id=$(ssh_host -o ConnectTimeout=2 "$1" cat /proc/sys/kernel/random/boot_id </dev/null 2>/dev/null) &&
      [[ -n $id && $id != "${3:-}" ]] && return 0
    sleep 0.3
  done
  return 1
}
require_host() { valid_host "$1"; [[ -d $STATE/$1 ]] || die "$1 is not part of the lab (run: lab.sh up)"; }
lock() { # every command that changes the lab: root, one at a time
  [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, mounts, cgroups)"
  exec 9>"$LOCK_FILE"; flock -w 600 9 || die "another lab command holds $LOCK_FILE"
}

# ---- commands ----
cmd_up() { # N [HOST=RELEASE...]: hosts not named run the default release (ETCD_STACK_LAB_RELEASES: more pairs, comma-separated)
  local n=${1:-3} t0=$SECONDS t1 h i failed=0 pair r
  local -A want=()
  [[ $n =~ ^[3-7]$ ]] || die "up N: N must be 3..7"
  shift || true
  for pair in ${ETCD_STACK_LAB_RELEASES:+${ETCD_STACK_LAB_RELEASES//,/ }} "$@"; do
    [[ $pair =~ ^(lab[1-7])=([a-z]+)$ ]] || die "up: '$pair' is not HOST=RELEASE (e.g. lab1=bullseye)"
    valid_release "${BASH_REMATCH[2]}"; want[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done
  for ((i = 1; i <= n; i++)); do : "${want[lab$i]:=$DEFAULT_RELEASE}"; done
  { command -v systemd-nspawn && command -v debootstrap; } >/dev/null || die "run: lab.sh install-deps"
  lock
  for r in $(printf '%s\n' "${want[@]}" | sort -u); do build_base "$r"; done
  ensure_key
  ensure_inotify
  ensure_bridge
  for h in $(known_hosts); do
    if ((${h#lab} > n)); then log "lab: removing $h (up $n)"; remove_host "$h"
    # A host asked for another release than its overlay's is made again from that release's base.
    elif [[ -d $STATE/$h && $(host_release "$h") != "${want[$h]}" ]]; then
      log "lab: making $h again ($(host_release "$h") -> ${want[$h]})"; remove_host "$h" keep-net
    fi
  done
  # ensure_net also sets links up, thaw undoes a freeze, and the dropped peers and slowed disks go:
  # `up` heals faults left by a test.
  for ((i = 1; i <= n; i++)); do
    ensure_net "lab$i"; ensure_root "lab$i" "${want[lab$i]}"; freezer "lab$i" THAWED 2>/dev/null || true
    undrop_peer "lab$i"; disk_throttle "lab$i" 0 2>/dev/null || true; launch "lab$i"
  done
  t1=$SECONDS                        # one 60 s bound for all hosts: they boot in parallel
  for ((i = 1; i <= n; i++)); do
    h=lab$i
    if wait_ssh "$h" $((t1 + 60)); then echo "$h $(host_ip "$h") ready ($(host_release "$h"))"
    else echo "$h $(host_ip "$h") NOT ready (log: $STATE/$h/console.log)"; failed=1; fi
  done
  ((failed == 0)) || die "not every host came up"
  write_known_hosts
  echo "lab: $n hosts up in $((SECONDS - t0))s (ssh: bash $SELF ssh lab1, key $KEY)"
}
cmd_down() {
  local h
  lock
  for h in $(known_hosts); do remove_host "$h"; done
  # Lane 2 outside its namespace (already gone): the VM's etcdlab0 is lane 1's, never deleted here.
  [[ -n $LANE_NS && ${ETCD_STACK_LAB_IN_LANE:-} != "$LANE" ]] || ip link del "$BRIDGE" 2>/dev/null || true
  umount_under "$STATE"
  rm -rf --one-file-system "$STATE"
  # The lane's namespace goes too, unless the caller runs inside it (a test process, the chaos
  # runner): a new one made by its next `up` would be out of that process's reach.
  [[ -z $LANE_NS || ${ETCD_STACK_LAB_CALLER_IN_LANE:-} == 1 ]] || ip netns del "$LANE_NS" 2>/dev/null || true
  echo "lab: down${LANE_NS:+ (lane $LANE)}"
}
cmd_status() {
  local h state
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "bridge $BRIDGE $NET.1/24" || echo "bridge $BRIDGE absent"
  for h in $(known_hosts); do
    if ! nspawn_pid "$h" >/dev/null; then
      host_pid1 "$h" >/dev/null && state="ORPHANED (nspawn gone, PID 1 $(host_pid1 "$h") left)" || state=stopped
    elif [[ $(cat "/sys/fs/cgroup/freezer/$PREFIX$h/freezer.state" 2>/dev/null) == FROZEN ]]; then state=frozen
    else state="running (nspawn $(nspawn_pid "$h"))"; fi
    supervisor_pid "$h" >/dev/null || [[ $state == stopped ]] || state+=" UNSUPERVISED"
    ip -o link show "$PREFIX$h" 2>/dev/null | grep -q 'state UP' || state+=" link-down"
    echo "$h $(host_ip "$h") $(host_release "$h") $state"
  done
}

# Lane 2: every command runs inside the lane's own network namespace (made on first use), where
# its bridge, veths and route to 10.213.0.0/24 live; the VM's namespace never sees them.
if [[ -n $LANE_NS && ${ETCD_STACK_LAB_IN_LANE:-} != "$LANE" ]]; then
  [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, mounts, cgroups)"
  if [[ ${1:-} == down && ! -e /run/netns/$LANE_NS ]]; then :; else
    if [[ ! -e /run/netns/$LANE_NS ]]; then ip netns add "$LANE_NS"; ip -n "$LANE_NS" link set lo up; fi
    in_lane=0; [[ $(stat -L -c %i /proc/self/ns/net) == "$(stat -L -c %i "/run/netns/$LANE_NS")" ]] && in_lane=1
    # Called from outside the lane (the VM's namespace): pin that namespace for vm_netns.
    if [[ $in_lane == 0 && ! -e $VM_NETNS ]]; then touch "$VM_NETNS" && mount --bind /proc/self/ns/net "$VM_NETNS"; fi
    ETCD_STACK_LAB_IN_LANE=$LANE ETCD_STACK_LAB_CALLER_IN_LANE=$in_lane exec nsenter --net="/run/netns/$LANE_NS" bash "$SELF" "$@"
  fi
fi

cmd=${1:-}; shift || true
case $cmd in
  netns) echo "${LANE_NS:+/run/netns/$LANE_NS}" ;;  # where a lane's test process must run (empty: lane 1)
  # The hosts' shared base rootfs, one per release, each built once (scripts/test.sh, before the lanes start).
  base) lock; [[ ${1:-} == all ]] && set -- "${RELEASES[@]}"
        for r in "${@:-$DEFAULT_RELEASE}"; do build_base "$r"; done ;;
  release) require_host "${1:-}"; host_release "$1" ;;
  install-deps) install_deps ;;
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  hosts) for d in "$STATE"/lab[1-7]; do [[ -d $d ]] && echo "${d##*/}"; done; true ;;
  ip) valid_host "${1:-}"; host_ip "$1" ;;
  ssh) valid_host "${1:-}"; h=$1; shift; exec ssh -F "$SSH_CONFIG" "$h" "$@" ;;
  _supervise) supervise "$1" ;;
  known-hosts) write_known_hosts; cat "$SSH_DIR/known_hosts" ;;
  stop|start|crash|reboot|freeze|thaw|link-down|link-up|impostor|sshd-stop|sshd-start|clock-behind|clock-fix|drop-peer|undrop-peer|slow-disk|fast-disk)
    h=${1:-}; require_host "$h"; lock
    case $cmd in
      stop) stop_host "$h"; echo "$h stopped" ;;
      start) ensure_net "$h"; ensure_root "$h"; launch "$h"
             wait_ssh "$h" $((SECONDS + 60)) || die "$h: no ssh within 60s"; echo "$h $(host_ip "$h") ready" ;;
      crash) p1=$(host_pid1 "$h") || die "$h is not running"
             touch "$STATE/$h/stopping"; kill -KILL "$p1"
             np=$(nspawn_pid "$h") && { wait_gone "$np" 15 || die "$h: nspawn still running"; }
             echo "$h crashed (PID 1 $p1 killed)" ;;
      reboot) old=$(boot_id "$h"); [[ -n $old ]] || die "$h does not answer ssh"
              ssh_host "$h" systemctl reboot </dev/null >/dev/null 2>&1 || true
              wait_ssh "$h" $((SECONDS + 60)) "$old" || die "$h: not back within 60s"; echo "$h rebooted" ;;
      freeze) nspawn_pid "$h" >/dev/null || die "$h is not running"; freezer "$h" FROZEN; echo "$h frozen" ;;
      thaw) freezer "$h" THAWED || die "$h is not running"; echo "$h thawed" ;;
      link-down) ip link set "$PREFIX$h" down; echo "$h link down" ;;
      link-up) ip link set "$PREFIX$h" up; echo "$h link up" ;;
      drop-peer) from=${2:-}; require_host "$from"; port=${3:-2380}; [[ $port =~ ^[0-9]+$ ]] || die "drop-peer: PORT must be a number"
                 drop_peer "$h" "$from" "$port"; echo "$h drops TCP to port $port from $from ($(host_ip "$from"))" ;;
      undrop-peer) undrop_peer "$h"; echo "$h drops no peer" ;;
      slow-disk) iops=${2:-20}; [[ $iops =~ ^[1-9][0-9]*$ ]] || die "slow-disk: WRITE_IOPS must be a positive number"
                 disk_throttle "$h" "$iops"; echo "$h writes to $(lab_disk) limited to $iops per second" ;;
      fast-disk) disk_throttle "$h" 0; echo "$h writes unthrottled" ;;
      # Another machine on this host's address: new host keys, sshd restarted; known_hosts is
      # left as it was (`up` rewrites it), so a pinned connection must refuse this host.
      impostor) r=$STATE/$h/root; rm -f "$r"/etc/ssh/ssh_host_*; ssh-keygen -q -A -f "$r" >/dev/null
                ssh_host "$h" systemctl restart ssh </dev/null >/dev/null 2>&1 || true
                wait_ssh "$h" $((SECONDS + 30)) || die "$h: sshd not back"
                echo "$h now answers with host key $(ssh-keygen -lf "$r/etc/ssh/ssh_host_ed25519_key.pub" | cut -d' ' -f2)" ;;
      sshd-stop) ssh_host "$h" systemctl stop ssh.socket ssh </dev/null >/dev/null 2>&1 || true; echo "$h sshd stopped" ;;
      # Hosts share the VM's kernel clock: a clock hours off is faked for every SSH session on the
      # host from now on (libfaketime preloaded through the session's environment, /etc/environment
      # read by pam_env); sshd itself, systemd and etcd keep the real clock.
      clock-behind) r=$STATE/$h/root
                    lib=$(cd "$r" && find usr/lib -name libfaketime.so.1 -path '*faketime*' | head -n1)
                    [[ -n $lib ]] || die "libfaketime is not in $h's rootfs"
                    sed -i '/^# lab.sh clock-behind$/,+2d' "$r/etc/environment" 2>/dev/null || true
                    # OFFSET: how far behind, as libfaketime reads it (3h, 7m, 90s); 3h by default.
                    off=${2:-3h}; [[ $off =~ ^[0-9]+[smhd]$ ]] || die "clock-behind $h: '$off' is not an offset like 3h, 7m or 90s"
                    printf '# lab.sh clock-behind\nLD_PRELOAD=/%s\nFAKETIME=-%s\n' "$lib" "$off" >>"$r/etc/environment"
                    echo "$h clock $off behind: $(ssh_host "$h" date -u +%H:%M:%S </dev/null) on the host, $(date -u +%H:%M:%S) here" ;;
      clock-fix) sed -i '/^# lab.sh clock-behind$/,+2d' "$STATE/$h/root/etc/environment" 2>/dev/null || true; echo "$h clock right again" ;;
      sshd-start) nsenter_host "$h" systemctl start ssh; wait_ssh "$h" $((SECONDS + 30)) || die "$h: sshd not back"; echo "$h sshd started" ;;
    esac ;;
  *) sed -n '2,/^set -euo/s/^# \{0,1\}//p' "$SELF"; [[ -z $cmd || $cmd == -h || $cmd == --help ]] || die "unknown command '$cmd'" ;;
esac
