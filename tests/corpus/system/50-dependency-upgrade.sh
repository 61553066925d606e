# An install that makes apt upgrade a dependency (libssl3, from the
# security suite the root was not upgraded from): the upgrade stays with
# the package manager.
#@ session
apt-get install -y -q openssl >/dev/null
#@ expect
has: package { 'openssl': ensure => installed, }
lacks: package { 'libssl3'
