set -eu
got=$(ssh-keyscan -T 5 -t ed25519 -p 22 '10.213.0.11' 2>/dev/null | awk '$1 !~ /^#/ { print $2 " " $3 }')
[ -n "$got" ] || { echo "lab-1: 10.213.0.11:22 presents no ssh-ed25519 host key (host down, or sshd not answering)" >&2; exit 1; }
if echo "$got" | awk '{ print $2 }' | grep -qxF 'AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3'; then echo "lab-1: 10.213.0.11:22 presents the pinned host key SHA256:z6SB90wKjEvdOcZ+Fp2oypNKEnh7xwkGsAbJb//m1HQ"; exit 0; fi
presented=$(echo "$got" | ssh-keygen -lf - 2>/dev/null | awk '{ print $2 }' | paste -sd, -)
echo "lab-1: 10.213.0.11:22 presents host key $presented, but the stack pins SHA256:z6SB90wKjEvdOcZ+Fp2oypNKEnh7xwkGsAbJb//m1HQ (ssh-ed25519): another machine answers there; nothing was sent to it. Check the host's key on its console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); if it was rebuilt, pin its new key (hostKey or known_hosts)" >&2
exit 1
