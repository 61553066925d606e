# A web site on nginx: the package, a site of its own with content in a
# directory that appears during the session, the default site disabled,
# the stock page and the main configuration edited.
#@ session
apt-get install -y -q nginx >/dev/null
mkdir -p /var/www/app
printf '<h1>app</h1>\n' > /var/www/app/index.html
printf 'edited by hand\n' >> /var/www/html/index.nginx-debian.html
cat > /etc/nginx/sites-available/app <<'SITE'
server {
    listen 8080;
    root /var/www/app;
}
SITE
ln -s /etc/nginx/sites-available/app /etc/nginx/sites-enabled/app
rm /etc/nginx/sites-enabled/default
sed -i 's/worker_connections 768;/worker_connections 1024;/' /etc/nginx/nginx.conf
#@ expect
# The package enabled nginx; the edited configuration restarts it, and
# nothing says it runs (a chroot cannot tell).
has: service { 'nginx': subscribe => [ File['/etc/nginx/nginx.conf'], File['/etc/nginx/sites-available/app'], File['/etc/nginx/sites-enabled/app'], File['/etc/nginx/sites-enabled/default'], ], }
has: file { '/etc/nginx/sites-enabled/default': ensure => absent, }
lacks: ensure => running
