# A user's cron jobs through crontab -u (the spool file and its odd modes).
#@ session
apt-get install -y -q cron >/dev/null
useradd -m -s /bin/bash -c 'Report runner' reports
printf '0 3 * * * /usr/bin/env > /tmp/report\n' | crontab -u reports -
