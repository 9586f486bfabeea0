#include <stdio.h>
int add(int a, int b);
int mul(int a, int b);
int main(void) {
    printf("%d\n", add(2, mul(3, 4)));
    return 0;
}
