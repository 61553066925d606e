# A session resumed later, with changes made in the gap between the two
# recordings (an edit, a new file, a removal).
#@ before
mkdir -p /srv/app
echo 'stock' > /srv/app/stock.conf
#@ session
echo 'v1' > /srv/app/app.conf
mkdir -p /opt/app/bin
printf '#!/bin/sh\necho app\n' > /opt/app/bin/app
chmod 755 /opt/app/bin/app
#@ gap
echo 'v2' > /srv/app/app.conf
echo 'made in the gap' > /srv/app/gap.conf
rm /srv/app/stock.conf
chmod 700 /opt/app/bin/app
#@ resume
echo 'after the gap' > /srv/app/later.conf
