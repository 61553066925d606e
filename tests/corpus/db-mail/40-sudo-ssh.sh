# A deploy user with an SSH key and a sudoers drop-in.
#@ session
apt-get install -y -q sudo >/dev/null
useradd -m -s /bin/bash -c 'Deploy' deploy
mkdir -p /home/deploy/.ssh
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLEKEYEXAMPLEKEY deploy@ci' > /home/deploy/.ssh/authorized_keys
chmod 700 /home/deploy/.ssh
chmod 600 /home/deploy/.ssh/authorized_keys
chown -R deploy:deploy /home/deploy/.ssh
echo 'deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx' > /etc/sudoers.d/deploy
chmod 440 /etc/sudoers.d/deploy
echo 'deploy:correct horse battery staple' | chpasswd
#@ expect
# useradd -m's copies of /etc/skel are the user resource's (managehome).
lacks: /home/deploy/.bashrc
has: managehome => true,
# sudo masks its own unit: not the admin's doing.
lacks: service { 'sudo'
