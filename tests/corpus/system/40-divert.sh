# dpkg-divert: a packaged file moved aside and replaced by the admin's.
#@ session
dpkg-divert --local --rename --divert /etc/issue.distrib --add /etc/issue >/dev/null
printf 'Welcome to the appliance\n' > /etc/issue
