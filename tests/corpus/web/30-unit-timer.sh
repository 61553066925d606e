# A new service unit with its timer, and the script it runs.
#@ session
cat > /usr/local/bin/backup-www <<'SH'
#!/bin/sh
tar -C /var/www -czf /var/backups/www.tar.gz .
SH
chmod 755 /usr/local/bin/backup-www
cat > /etc/systemd/system/backup-www.service <<'UNIT'
[Unit]
Description=Back up /var/www

[Service]
Type=oneshot
ExecStart=/usr/local/bin/backup-www
UNIT
cat > /etc/systemd/system/backup-www.timer <<'UNIT'
[Unit]
Description=Back up /var/www nightly

[Timer]
OnCalendar=daily
Persistent=true

[Install]
WantedBy=timers.target
UNIT
systemctl enable backup-www.timer 2>/dev/null
