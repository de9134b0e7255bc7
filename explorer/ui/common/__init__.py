"""Small pieces shared by the UI's feature packages: banners, pixmaps, file dialogs, the Qt-free
event helper and the block-switch model, and the check of the Qt binding itself. Feature packages
may import from here; they never import each other."""
