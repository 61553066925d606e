# A database server's configuration: a client rule in pg_hba.conf and a
# tuning file in conf.d, both in the cluster the package created.
#@ session
apt-get install -y -q postgresql >/dev/null
echo 'host    app    app    10.0.0.0/8    scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf
printf "shared_buffers = '256MB'\nlisten_addresses = '*'\n" > /etc/postgresql/15/main/conf.d/tuning.conf
chown postgres:postgres /etc/postgresql/15/main/conf.d/tuning.conf
