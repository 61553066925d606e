# A web site on apache2: a module enabled, the default site disabled, a
# site of its own enabled, content under /srv, the ports changed.
#@ session
apt-get install -y -q apache2 >/dev/null
a2enmod -q rewrite
a2dissite -q 000-default
mkdir -p /srv/app/public
printf '<h1>app</h1>\n' > /srv/app/public/index.html
cat > /etc/apache2/sites-available/app.conf <<'SITE'
<VirtualHost *:8080>
    DocumentRoot /srv/app/public
    <Directory /srv/app/public>
        Require all granted
    </Directory>
</VirtualHost>
SITE
a2ensite -q app
sed -i 's/^Listen 80$/Listen 8080/' /etc/apache2/ports.conf
