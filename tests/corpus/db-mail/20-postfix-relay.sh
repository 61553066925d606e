# A mail relay: postfix configured with postconf -e, and the mail name.
#@ session
apt-get install -y -q postfix >/dev/null
postconf -e 'relayhost = [smtp.example.com]:587'
postconf -e 'inet_interfaces = loopback-only'
echo 'mail.example.com' > /etc/mailname
