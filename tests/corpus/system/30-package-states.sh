# Package states: removed with its conffiles kept, purged, held.
#@ before
apt-get install -y -q logrotate rsync jq >/dev/null
#@ session
apt-get remove -y -q logrotate >/dev/null
apt-get purge -y -q rsync >/dev/null
apt-mark hold jq >/dev/null
#@ expect
has: package { 'jq': ensure => installed, mark => 'hold', }
has: package { 'logrotate': ensure => absent, }
has: package { 'rsync': ensure => purged, }
