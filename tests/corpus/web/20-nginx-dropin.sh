# A systemd drop-in for a package's unit.
#@ session
mkdir -p /etc/systemd/system/nginx.service.d
printf '[Service]\nLimitNOFILE=65536\n' > /etc/systemd/system/nginx.service.d/limits.conf
systemctl daemon-reload 2>/dev/null || true
