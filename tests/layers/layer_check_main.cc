// Linked with one layer's whole library and the layers below it: that it links is the check.
int main() { return 0; }
