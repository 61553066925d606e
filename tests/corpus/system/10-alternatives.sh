# update-alternatives --set: the editor chosen by hand over the priorities.
#@ session
apt-get install -y -q nano vim-tiny >/dev/null
update-alternatives --set editor /usr/bin/vim.tiny >/dev/null
