import { createHearth } from '@hearth/vue';
import { createApp } from 'vue';
import App from './App.vue';

// One shared model for the whole app; App.vue loads it when "Load" is pressed.
createApp(App).use(createHearth()).mount('#app');
