# The timezone (/etc/localtime link and /etc/timezone) and a locale.
#@ session
ln -sf /usr/share/zoneinfo/Europe/Paris /etc/localtime
echo 'Europe/Paris' > /etc/timezone
apt-get install -y -q locales >/dev/null
sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
locale-gen >/dev/null
update-locale LANG=de_DE.UTF-8
